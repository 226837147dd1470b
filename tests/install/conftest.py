"""Fixtures of the install tests: the wheel built from this checkout (once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.install_support import build_wheel


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(autouse=True)
def venv_edgekit_untouched():
    """Installing a wheel elsewhere must leave this venv's own edgekit (dist-info, editable hooks) alone."""
    from helpers.install_support import VENV_SITE

    def entries() -> list[str]:
        return sorted(p.name for p in Path(VENV_SITE).glob("*edgekit*"))

    before = entries()
    yield
    assert entries() == before, "a test changed this venv's edgekit install"
