"""Artifact previews: images, text, JSON, tables (CSV and Parquet) and model package
manifests, read through the tracking service with bounded memory.

Raw bytes are served by `raw_headers`' rules: user files never run as the UI's own pages
(HTML runs sandboxed in an opaque origin; everything else is a download or inert).
"""

from __future__ import annotations

import csv
import io
import json
import posixpath
from dataclasses import dataclass, field
from typing import Any

from shipyard.entities.tracking import ArtifactInfo
from shipyard.errors import ShipyardError

IMAGE = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".svg", ".ico"}
TEXT = {".txt", ".log", ".md", ".py", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".sh", ".xml",
        ".sql", ".r", ".js", ".ts", ".css", ".rst", ".tex", ".env", ".conf", ".out", ".err"}
TEXT_NAMES = {"requirements.txt", "MLmodel", "Dockerfile", "LICENSE", "README", "conda.yaml"}
HTML = {".html", ".htm"}
TABLE = {".csv", ".tsv"}
TEXT_LIMIT = 256 * 1024
JSON_LIMIT = 2 * 1024 * 1024
TABLE_ROWS = 100
PARQUET_LIMIT = 256 * 1024 * 1024
MANIFEST = "manifest.json"


@dataclass
class Preview:
    kind: str  # image | text | json | table | html | manifest | binary | error
    info: ArtifactInfo
    text: str = ""
    truncated: bool = False
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    total_rows: int | None = None
    manifest: dict[str, Any] | None = None
    message: str = ""


def ext(path: str) -> str:
    return posixpath.splitext(path)[1].lower()


def _head(tracking: Any, run_id: str, info: ArtifactInfo, limit: int) -> tuple[bytes, bool]:
    end = min(info.size, limit)
    with tracking.open_artifact(run_id, info.path, start=0, end=end) as fh:
        data: bytes = fh.read()
    return data, info.size > limit


def _table_from_csv(data: bytes, delimiter: str) -> tuple[list[str], list[list[Any]]]:
    text = data.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = []
    for i, row in enumerate(reader):
        if i > TABLE_ROWS:
            break
        rows.append(row)
    return (rows[0] if rows else []), rows[1:TABLE_ROWS + 1]


def _parquet(tracking: Any, run_id: str, info: ArtifactInfo) -> Preview:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        return Preview("binary", info, message="Install the data extra to preview Parquet "
                                               "tables: pip install 'shipyard[data]'.")
    if info.size > PARQUET_LIMIT:
        return Preview("binary", info, message="This Parquet file is too large to preview.")
    data = tracking.read_artifact(run_id, info.path)
    pf = pq.ParquetFile(io.BytesIO(data))
    batch = next(pf.iter_batches(batch_size=TABLE_ROWS), None)
    columns = [f.name for f in pf.schema_arrow]
    rows = [] if batch is None else [list(r.values()) for r in batch.to_pylist()]
    return Preview("table", info, columns=columns, rows=rows,
                   total_rows=pf.metadata.num_rows, truncated=pf.metadata.num_rows > len(rows))


def is_manifest(path: str, paths: set[str]) -> bool:
    """A model package's manifest: ``<folder>/manifest.json`` next to the package files."""
    folder = posixpath.dirname(path)
    if posixpath.basename(path) != MANIFEST or not folder:
        return False
    return any(p != path and p.startswith(folder + "/") for p in paths)


def preview(client: Any, run_id: str, info: ArtifactInfo, paths: set[str]) -> Preview:
    """What the artifact browser shows for one file."""
    tracking = client.tracking
    suffix = ext(info.path)
    name = posixpath.basename(info.path)
    try:
        if suffix in IMAGE:
            return Preview("image", info)
        if suffix in HTML:
            return Preview("html", info)
        if is_manifest(info.path, paths):
            folder = posixpath.dirname(info.path)
            manifest = client.models.read_manifest(run_id, folder)
            return Preview("manifest", info, manifest=manifest,
                           text=json.dumps(manifest, indent=2, default=str))
        if suffix == ".json":
            data, cut = _head(tracking, run_id, info, JSON_LIMIT)
            if not cut:
                try:
                    text = json.dumps(json.loads(data), indent=2, ensure_ascii=False)
                except ValueError:
                    text = data.decode("utf-8", errors="replace")
                return Preview("json", info, text=text[:TEXT_LIMIT],
                               truncated=len(text) > TEXT_LIMIT)
            return Preview("text", info, text=data[:TEXT_LIMIT].decode("utf-8", "replace"),
                           truncated=True)
        if suffix in TABLE:
            data, cut = _head(tracking, run_id, info, 1024 * 1024)
            columns, rows = _table_from_csv(data, "\t" if suffix == ".tsv" else ",")
            return Preview("table", info, columns=columns, rows=rows,
                           truncated=cut or len(rows) >= TABLE_ROWS)
        if suffix == ".parquet":
            return _parquet(tracking, run_id, info)
        data, cut = _head(tracking, run_id, info, TEXT_LIMIT)
        if suffix in TEXT or name in TEXT_NAMES or _looks_like_text(data):
            return Preview("text", info, text=data.decode("utf-8", errors="replace"),
                           truncated=cut)
        return Preview("binary", info)
    except ShipyardError as exc:
        return Preview("error", info, message=exc.message)
    except (ValueError, OSError) as exc:  # a corrupt table, an unreadable file
        return Preview("error", info, message=f"Could not preview it: {exc}")


def _looks_like_text(data: bytes) -> bool:
    if not data or b"\x00" in data[:8192]:
        return False
    try:
        data[:8192].decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start > 8180  # a multi-byte character cut at the window's end
    return True


def tree(infos: list[ArtifactInfo]) -> dict[str, Any]:
    """Nested folders: ``{"dirs": {name: subtree}, "files": [info, ...]}``."""
    root: dict[str, Any] = {"dirs": {}, "files": []}
    for info in infos:
        node = root
        *folders, _ = info.path.split("/")
        for part in folders:
            node = node["dirs"].setdefault(part, {"dirs": {}, "files": []})
        node["files"].append(info)
    return root


def raw_headers(path: str) -> dict[str, str]:
    """Headers for raw artifact bytes: images and text inline but inert, HTML sandboxed
    (scripts run in an opaque origin, away from the UI's cookies), everything else a
    download."""
    suffix = ext(path)
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=60"}
    if suffix in HTML:
        headers["Content-Security-Policy"] = "sandbox allow-scripts allow-popups"
    else:
        headers["Content-Security-Policy"] = ("default-src 'none'; img-src 'self' data:; "
                                              "style-src 'unsafe-inline'; sandbox")
    if suffix not in IMAGE | HTML | TEXT | TABLE | {".json"}:
        filename = posixpath.basename(path).replace('"', "")
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return headers
