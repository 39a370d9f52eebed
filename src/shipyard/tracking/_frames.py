"""pandas conversions (pandas is imported only when these are used)."""

from __future__ import annotations

import hashlib
from typing import Any

from shipyard.entities.tracking import DatasetInput, Run


def runs_to_dataframe(runs: list[Run]) -> Any:
    """One row a run: attributes, then ``params.*``, ``metrics.*`` and ``tags.*`` columns."""
    import pandas as pd

    rows = []
    for r in runs:
        row: dict[str, Any] = {
            "run_id": r.id, "experiment_id": r.experiment_id, "name": r.name,
            "status": r.status.value, "start_time": r.start_time, "end_time": r.end_time,
            "duration_s": r.duration_s, "user": r.context.user, "parent_id": r.parent_id,
        }
        row.update({f"params.{k}": v for k, v in r.params.items()})
        row.update({f"metrics.{k}": v for k, v in r.metrics.items()})
        row.update({f"tags.{k}": v for k, v in r.tags.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def describe_dataframe(frame: Any, *, name: str, context: str | None,
                       source: str | None) -> DatasetInput:
    """Digest (content hash), schema and row count of a DataFrame for lineage."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        from shipyard.errors import invalid

        msg = "dataset"
        raise invalid(msg, type(frame).__name__, "a DatasetInput or a pandas DataFrame",
                      where="log_input")
    h = hashlib.sha256()
    h.update(repr(list(map(str, frame.columns))).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return DatasetInput(name=name, digest=h.hexdigest()[:32], context=context, source=source,
                        schema={str(c): str(t) for c, t in frame.dtypes.items()},
                        num_rows=len(frame))
