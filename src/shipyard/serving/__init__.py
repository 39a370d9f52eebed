"""Model serving: a model host with adaptive micro-batching, prediction logging, hot reload
of moved aliases, the registry of running servers, and batch scoring of large files.

This package knows nothing about HTTP: ``shipyard.server.serving`` puts it on the wire and
``shipyard serve`` / ``shipyard predict`` run it. numpy, pandas and pyarrow load on use.
"""

from shipyard.serving._batch import BatchScorer, ScoreResult
from shipyard.serving._batcher import CostModel, Job, MicroBatcher
from shipyard.serving._host import (
    ModelHost,
    Prediction,
    ServedModel,
    ServedVersion,
    ServeOptions,
    ServingObserver,
    parse_targets,
)
from shipyard.serving._predlog import (
    FeedbackRecord,
    PredictionLogger,
    PredictionRecord,
    partition_key,
)
from shipyard.serving._service import DeploymentAgent, ServingService

__all__ = [
    "BatchScorer",
    "CostModel",
    "DeploymentAgent",
    "FeedbackRecord",
    "Job",
    "MicroBatcher",
    "ModelHost",
    "Prediction",
    "PredictionLogger",
    "PredictionRecord",
    "ScoreResult",
    "ServeOptions",
    "ServedModel",
    "ServedVersion",
    "ServingObserver",
    "ServingService",
    "parse_targets",
    "partition_key",
]
