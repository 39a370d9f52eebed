"""Every flavor round-trips through an S3 artifact store (a real SeaweedFS server), and
pickle-based packages from S3 load only with an explicit opt-in."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from shipyard.client import Client
from shipyard.errors import UntrustedModelError

pytestmark = pytest.mark.s3
Case = tuple[Any, dict[str, Any], Any, Callable[[Any], Any]]
FLAVOR_CASES = ["sklearn-pickle", "sklearn-skops", "sklearn-onnx", "xgboost", "xgboost-onnx",
                "lightgbm-sklearn", "lightgbm-booster", "lightgbm-onnx", "pytorch-export",
                "pytorch-pickle", "onnx", "pyfunc"]


@pytest.fixture(scope="module")
def s3_client(s3_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """One client for the module (a boto3 client costs about a second to build)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
        mp.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
        mp.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
                     "AWS_ENDPOINT_URL_S3"):
            mp.delenv(name, raising=False)
        for key in [k for k in os.environ if k.startswith("SHIPYARD_")
                    and not k.startswith("SHIPYARD_TEST_")]:
            mp.delenv(key)
        home = tmp_path_factory.mktemp("s3-models") / ".shipyard"
        c = Client(home=home, s3_endpoint_url=s3_server.endpoint_url,
                   artifact_uri=f"s3://shipyard-models-{uuid.uuid4().hex[:8]}/x")
        yield c
        c.close()


@pytest.mark.parametrize("case", FLAVOR_CASES)
def test_flavor_round_trip_on_s3(case: str, flavor_cases: dict[str, Case],
                                 s3_client: Client, round_trip: Any) -> None:
    round_trip(flavor_cases[case], s3_client)


def test_pickle_from_s3_needs_explicit_trust(flavor_cases: dict[str, Case],
                                             s3_client: Client) -> None:
    c = s3_client
    model, kwargs, example, _ = flavor_cases["sklearn-pickle"]
    run = c.tracking.create_run(experiment="trust")
    c.models.log_model(run.id, model, input_example=example, **kwargs)
    with pytest.raises(UntrustedModelError, match="trust_pickle=True"):
        c.models.load_model(f"runs:/{run.id}/model")
    skops_model, skops_kwargs, _, _ = flavor_cases["sklearn-skops"]
    c.models.log_model(run.id, skops_model, name="safe", input_example=example, **skops_kwargs)
    assert c.models.load_model(f"runs:/{run.id}/safe").predict(example) is not None


