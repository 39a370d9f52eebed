"""TrackingService.make_metrics: the batch form of make_metric (the server's write path)."""

from __future__ import annotations

import math

import pytest

from shipyard.entities._ids import utc_now
from shipyard.errors import InvalidArgumentError
from shipyard.tracking import TrackingService


def test_make_metrics_matches_make_metric() -> None:
    ts = utc_now()
    rows = [("loss", 1, 0, ts), ("loss", 0.5, 1, ts), ("acc", math.inf, 2, ts)]
    got = TrackingService.make_metrics(rows)
    assert got == [TrackingService.make_metric(*row) for row in rows]
    assert isinstance(got[0].value, float)


@pytest.mark.parametrize(("row", "match"), [
    (("../x", 1.0, 0), "path"),
    (("m", "high", 0), "numeric"),
    (("m", True, 0), "numeric"),
    (("m", 1.0, 1.5), "integer"),
])
def test_make_metrics_rejects_what_make_metric_rejects(row: tuple, match: str) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        TrackingService.make_metrics([(*row, utc_now())])
