"""Every ```python block of docs/tutorial.md runs, in order, in a fresh folder."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from shipyard.testing.server import clean_env

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "tutorial.md"


@pytest.mark.slow
def test_tutorial_code_blocks_run(tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", TUTORIAL.read_text(), flags=re.S)
    assert len(blocks) >= 5
    script = tmp_path / "tutorial.py"
    script.write_text("\n\n".join(blocks))
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=clean_env(),
                         capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "champion: version" in out.stdout
    assert (tmp_path / "drift-report.html").stat().st_size > 1000
    assert (tmp_path / ".shipyard" / "shipyard.db").exists()
