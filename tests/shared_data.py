"""Where the real data sets live: ``../shared/data`` beside the checkout (never copied into the repo)."""
from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MOVIELENS_SMALL = SHARED_DATA / "movielens-latest-small"
AMAZON_INSTRUMENTS = SHARED_DATA / "amazon-musical-instruments-5core"
