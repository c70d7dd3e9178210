"""Shared test setup: the Keras 2 switch before TensorFlow, and paths to ../shared/data."""
import os
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MOVIELENS_SMALL = SHARED_DATA / "movielens-latest-small"
AMAZON_INSTRUMENTS = SHARED_DATA / "amazon-musical-instruments-5core"


def require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is not here: the real data sets live in ../shared/data beside the checkout")
    return path


@pytest.fixture
def movielens_small() -> Path:
    return require(MOVIELENS_SMALL)


@pytest.fixture
def amazon_instruments() -> Path:
    return require(AMAZON_INSTRUMENTS)
