"""Capture where a run comes from: user, source file, git commit and dirty flag, versions."""

from __future__ import annotations

import getpass
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from shipyard.entities.tracking import RunContext

_KEY_PACKAGES = {
    "sklearn": "scikit-learn", "numpy": "numpy", "pandas": "pandas", "torch": "torch",
    "xgboost": "xgboost", "lightgbm": "lightgbm", "tensorflow": "tensorflow",
    "onnxruntime": "onnxruntime", "scipy": "scipy", "shipyard": "shipyard",
}


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                             timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _source() -> str | None:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path:
        return str(Path(path).resolve())
    return sys.argv[0] or None if sys.argv else None


def capture_context() -> RunContext:
    """Context of the current process; every piece is best effort and never raises."""
    try:
        user: str | None = getpass.getuser()
    except (KeyError, OSError):
        user = None
    source = _source()
    where = Path(source).parent if source and Path(source).exists() else Path.cwd()
    commit = _git(["rev-parse", "HEAD"], where)
    dirty = None
    if commit:
        status = _git(["status", "--porcelain", "--untracked-files=no"], where)
        dirty = bool(status) if status is not None else None
    packages = {}
    for module, dist in _KEY_PACKAGES.items():
        if module in sys.modules:
            try:
                packages[dist] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                continue
    return RunContext(user=user, source=source, git_commit=commit, git_dirty=dirty,
                      python_version=platform.python_version(), packages=packages)
