from __future__ import annotations

from pathlib import Path

import pytest

import shipyard
from shipyard import errors
from shipyard.config import SETTINGS, load_settings


def test_every_error_has_a_unique_code_and_round_trips() -> None:
    classes = [c for c in vars(errors).values()
               if isinstance(c, type) and issubclass(c, errors.ShipyardError)]
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes))
    for cls in classes:
        if cls is errors.RemoteError:
            continue
        err = errors.ShipyardError.from_code(cls.code, "m", "h")
        assert type(err) is cls
        assert (err.message, err.hint) == ("m", "h")


def test_unknown_code_becomes_remote_error() -> None:
    err = errors.ShipyardError.from_code("no-such-code", "boom")
    assert isinstance(err, errors.RemoteError)
    assert "no-such-code" in str(err)


def test_errors_subclass_the_matching_builtins() -> None:
    assert issubclass(errors.InvalidArgumentError, ValueError)
    assert issubclass(errors.RunNotFoundError, LookupError)
    assert issubclass(errors.MissingDependencyError, ImportError)


def test_settings_precedence_env_over_toml(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "shipyard.toml").write_text('default_experiment = "toml"\nmetric_batch_size = 7\n')
    assert load_settings().default_experiment == "toml"
    monkeypatch.setenv("SHIPYARD_DEFAULT_EXPERIMENT", "env")
    settings = load_settings()
    assert (settings.default_experiment, settings.metric_batch_size) == ("env", 7)
    assert load_settings(default_experiment="arg").default_experiment == "arg"


def test_bad_setting_names_field_and_variable(monkeypatch) -> None:
    monkeypatch.setenv("SHIPYARD_METRIC_BATCH_SIZE", "lots")
    with pytest.raises(errors.ConfigError, match="SHIPYARD_METRIC_BATCH_SIZE") as info:
        load_settings()
    assert "'lots'" in str(info.value)


def test_default_home_is_dot_shipyard_in_cwd(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.resolved_metadata_uri() == f"sqlite:///{tmp_path / '.shipyard' / 'shipyard.db'}"
    assert settings.resolved_artifact_uri() == (tmp_path / ".shipyard" / "artifacts").as_uri()


def test_unknown_backend_scheme_is_a_config_error() -> None:
    from shipyard.client import Client

    with pytest.raises(errors.ConfigError, match="ftp"):
        Client(artifact_uri="ftp://x/y")


def test_public_facade_is_pinned() -> None:
    assert "start_run" in shipyard.__all__
    assert "Client" in shipyard.__all__
    for name in shipyard.__all__:
        assert getattr(shipyard, name) is not None
    assert set(SETTINGS) >= {"home", "metadata_uri", "artifact_uri", "tracking_uri"}
