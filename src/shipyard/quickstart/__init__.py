"""The quickstart: the whole lifecycle on embedded defaults (``shipyard quickstart``)."""

from shipyard.quickstart._run import run_quickstart

__all__ = ["run_quickstart"]
