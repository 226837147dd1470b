"""Fixtures of the install tests: the wheel built from this checkout (once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from install_support import build_wheel


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))
