"""Shared test fixtures.

Real forum data lives in ``../shared/fixtures`` beside the checkout; tests that need it skip
cleanly when it is absent, so a fresh clone still passes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

# The suite speaks with espeak-ng (fast, in every environment) wherever a command is run
# without --voice; tests of the best-installed choice clear this themselves.
os.environ.setdefault("TTS_PIPELINE_VOICE", "default")

REPO = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures"


@pytest.fixture
def shared_fixtures() -> Path:
    """Path to ``../shared/fixtures``; skips the test when that folder is absent."""
    if not SHARED_FIXTURES.is_dir():
        pytest.skip("../shared/fixtures is not present beside this checkout")
    return SHARED_FIXTURES


@pytest.fixture(scope="session")
def media_library(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A small real library (two short posts through the real pipeline), built once per run
    for the preview and serve tests. Read-only: copy it before changing anything."""
    from library_factory import build_library

    return build_library(tmp_path_factory.mktemp("media-library"))
