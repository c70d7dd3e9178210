"""Shared test setup: the Keras 2 switch before TensorFlow, paths to ../shared/data, and the
pipeline runs several modules share, started in the background once collection ends."""
import os
import shutil
import tempfile
from pathlib import Path

import pytest

import recgen  # noqa: F401  (sets TF_USE_LEGACY_KERAS before any test imports TensorFlow)
from recgen.serve_cli import ONEDNN_VARIABLE
from tests import pipeline_runs
from tests.background_runs import RUNS, BackgroundRun, background_result
from tests.shared_data import AMAZON_INSTRUMENTS, MOVIELENS_SMALL

# The serving tests run model servers in this process: oneDNN off, as `recgen serve` does.
os.environ[ONEDNN_VARIABLE] = "0"

# fixture name -> the pipeline run behind it (tests/pipeline_runs.py); a run starts only when a
# collected test uses its fixture, and only when its data is here.
BACKGROUND = {"synthetic_run": (pipeline_runs.synthetic_pipeline, None),
              "amazon_run": (pipeline_runs.amazon_pipeline, AMAZON_INSTRUMENTS),
              "three_runs": (pipeline_runs.evaluation_runs, None),
              "served": (pipeline_runs.retraining_pipeline, None),
              "news_run": (pipeline_runs.news_pipeline, None)}


def require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is not here: the real data sets live in ../shared/data beside the checkout")
    return path


def pytest_collection_modifyitems(session, config, items):
    used = {name for item in items for name in getattr(item, "fixturenames", ())}
    workdir = Path(tempfile.mkdtemp(prefix="recgen-background-runs-"))
    runs = config.stash[RUNS] = {"workdir": workdir}
    for name, (function, data) in BACKGROUND.items():
        runs[name] = BackgroundRun(name, function, workdir / name)
        if name in used and (data is None or data.exists()):
            runs[name].start()


def pytest_sessionfinish(session):
    runs = session.config.stash.get(RUNS, {})
    for run in runs.values():
        if isinstance(run, BackgroundRun):
            run.stop()
    if "workdir" in runs:
        shutil.rmtree(runs["workdir"], ignore_errors=True)


@pytest.fixture
def movielens_small() -> Path:
    return require(MOVIELENS_SMALL)


@pytest.fixture
def amazon_instruments() -> Path:
    return require(AMAZON_INSTRUMENTS)


@pytest.fixture(scope="session")
def synthetic_run(request):
    """One small synthetic run (titles, categories, reviews) shared by the pipeline tests:
    ``(config, retrieval serving dir, loaded retrieval model)``."""
    import tensorflow as tf

    from pipelines.recgen_pipeline import PipelineConfig
    from recgen.contracts.run_root import latest_artifact_uri
    config = PipelineConfig.from_json(background_result(request, "synthetic_run")["config"])
    model_dir = os.path.join(latest_artifact_uri(config, "Model", producer="RetrievalTrainer"), "Format-Serving")
    return config, model_dir, tf.saved_model.load(model_dir)


@pytest.fixture(scope="session")
def amazon_run(request):
    """The real Amazon data set with a small retrieval config (and a step-budget generator)."""
    from pipelines.recgen_pipeline import PipelineConfig
    require(AMAZON_INSTRUMENTS)
    return PipelineConfig.from_json(background_result(request, "amazon_run")["config"])
