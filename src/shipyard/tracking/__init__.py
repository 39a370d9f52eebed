"""Experiment tracking: the service, the fluent API and the search language."""

from shipyard.tracking._service import TrackingService

__all__ = ["TrackingService"]
