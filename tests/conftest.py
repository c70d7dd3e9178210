"""Shared test setup: the Keras 2 switch before TensorFlow, and paths to ../shared/data."""
import os
from pathlib import Path

import pytest

import recgen  # noqa: F401  (sets TF_USE_LEGACY_KERAS before any test imports TensorFlow)
from recgen.serve_cli import ONEDNN_VARIABLE

# The serving tests run model servers in this process: oneDNN off, as `recgen serve` does.
os.environ[ONEDNN_VARIABLE] = "0"

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


def pipeline_run(tmp_path_factory, name: str, data, **config_fields):
    """Runs the whole pipeline with LocalDagRunner into a fresh root; returns its PipelineConfig."""
    from pipelines.local_runner import run_pipeline
    from pipelines.recgen_pipeline import PipelineConfig
    config = PipelineConfig(data_path=str(data), root=str(tmp_path_factory.mktemp(name)), **config_fields)
    run_pipeline(config)
    return config


@pytest.fixture(scope="session")
def synthetic_run(tmp_path_factory):
    """One small synthetic run (titles, categories, reviews) shared by the pipeline tests:
    ``(config, retrieval serving dir, loaded retrieval model)``."""
    import os
    import tensorflow as tf
    from pipelines.artifacts import latest_artifact_uri
    from recgen.data.synthetic import SyntheticConfig, write_generic_csv
    from trainer.config import RetrievalConfig
    from trainer.generator.config import GeneratorConfig
    data, _ = write_generic_csv(SyntheticConfig(users=300, items=120, seed=5),
                                tmp_path_factory.mktemp("synthetic") / "data")
    config = pipeline_run(tmp_path_factory, "synthetic-run", data,
                          retrieval=RetrievalConfig(embedding_dim=32, max_epochs=3, batch_size=256),
                          generator=GeneratorConfig(num_layers=1, hidden_dim=64, intermediate_dim=128, max_epochs=4))
    model_dir = os.path.join(latest_artifact_uri(config, "Model", producer="RetrievalTrainer"), "Format-Serving")
    return config, model_dir, tf.saved_model.load(model_dir)


@pytest.fixture(scope="session")
def amazon_run(tmp_path_factory):
    """The real Amazon data set with a small retrieval config (and a step-budget generator)."""
    from trainer.config import RetrievalConfig
    from trainer.generator.config import GeneratorConfig
    return pipeline_run(tmp_path_factory, "amazon-run", require(AMAZON_INSTRUMENTS),
                        retrieval=RetrievalConfig(max_epochs=10, batch_size=128, user_id_dropout=0.5,
                                                  dropout=0.2, weight_decay=0.02),
                        generator=GeneratorConfig(num_layers=1, hidden_dim=64, intermediate_dim=128, max_steps=30))
