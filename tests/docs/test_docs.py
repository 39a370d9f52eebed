"""Docs stay true to the code: every setting is documented."""

from __future__ import annotations

from pathlib import Path

from shipyard.config import SETTINGS, env_var

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text()
    missing = [name for name in SETTINGS if env_var(name) not in text]
    assert missing == [], f"document these settings in docs/configuration.md: {missing}"


def test_readme_opens_with_the_two_commands() -> None:
    readme = (DOCS.parent / "README.md").read_text()
    head = readme[:3000]
    assert "./scripts/quickstart" in head
    assert "./scripts/test" in head
