"""Shared test setup: the Keras 2 switch before TensorFlow, and paths to ../shared/data."""
from pathlib import Path

import pytest

import recgen  # noqa: F401  (sets TF_USE_LEGACY_KERAS before any test imports TensorFlow)

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
