"""The pipeline runs the suite's fixtures share, as functions of a fresh work directory.

Each returns what its fixture needs as JSON (``PipelineConfig.to_json`` and the like), so that
``conftest.py`` can run it in a background process (``tests/background_runs.py``).
"""
from __future__ import annotations

from pathlib import Path

from tests.shared_data import AMAZON_INSTRUMENTS

# The retrieval config of every synthetic run here, and the evaluation pipeline's deliberately
# degraded one (test_evaluation_pipeline.py): a single training step from scratch.
GOOD = {"embedding_dim": 32, "max_epochs": 3, "batch_size": 256}
DEGRADED = {**GOOD, "max_steps": 1, "warm_start": False}


def _config(data, workdir: Path, **config_fields):
    """A PipelineConfig over ``data`` with its root in ``workdir``."""
    from pipelines.recgen_pipeline import PipelineConfig
    return PipelineConfig(data_path=str(data), root=str(workdir / "root"), **config_fields)


def _synthetic_data(workdir: Path, users: int, items: int, seed: int) -> Path:
    """A synthetic data set written under ``workdir``; its directory."""
    from recgen.data.synthetic import SyntheticConfig, write_generic_csv
    data, _ = write_generic_csv(SyntheticConfig(users=users, items=items, seed=seed), workdir / "data")
    return data


def synthetic_pipeline(workdir: Path) -> dict:
    """One small synthetic run (titles, categories, reviews), both branches."""
    from pipelines.local_runner import run_pipeline
    from trainer.config import RetrievalConfig
    from trainer.generator.config import GeneratorConfig
    config = _config(_synthetic_data(workdir, users=300, items=120, seed=5), workdir,
                     retrieval=RetrievalConfig(**GOOD),
                     generator=GeneratorConfig(num_layers=1, hidden_dim=64, intermediate_dim=128, max_epochs=4))
    run_pipeline(config)
    return {"config": config.to_json()}


def amazon_pipeline(workdir: Path) -> dict:
    """The real Amazon data set with a small retrieval config (and a step-budget generator)."""
    from pipelines.local_runner import run_pipeline
    from trainer.config import RetrievalConfig
    from trainer.generator.config import GeneratorConfig
    config = _config(AMAZON_INSTRUMENTS, workdir,
                     retrieval=RetrievalConfig(max_epochs=10, batch_size=128, user_id_dropout=0.5, dropout=0.2,
                                               weight_decay=0.02),
                     generator=GeneratorConfig(num_layers=1, hidden_dim=64, intermediate_dim=128, max_steps=30))
    run_pipeline(config)
    return {"config": config.to_json()}


def evaluation_runs(workdir: Path) -> dict:
    """Three retrieval-only runs on one root, GOOD, DEGRADED, GOOD, and each one's evaluation outcome."""
    import dataclasses

    from pipelines.evaluation_report import latest_evaluations
    from pipelines.local_runner import run_pipeline
    from trainer.config import RetrievalConfig
    config = _config(_synthetic_data(workdir, users=300, items=120, seed=5), workdir, explain=False,
                     retrieval=RetrievalConfig(**GOOD))
    outcomes = []
    for retrieval in (GOOD, DEGRADED, GOOD):
        run_pipeline(dataclasses.replace(config, retrieval=RetrievalConfig(**retrieval)))
        outcomes.append(latest_evaluations(config)["retrieval"])
    return {"config": config.to_json(), "outcomes": outcomes}


def retraining_pipeline(workdir: Path) -> dict:
    """A retrieval-only run on small synthetic data, its settings saved for ``recgen retrain``."""
    from pipelines.local_runner import run_pipeline
    from trainer.config import RetrievalConfig
    config = _config(_synthetic_data(workdir, users=200, items=80, seed=11), workdir,
                     retrieval=RetrievalConfig(**GOOD), explain=False)
    config.save()
    run_pipeline(config)
    return {"config": config.to_json()}


def news_pipeline(workdir: Path) -> dict:
    """``recgen pipeline run`` on synthetic news in MIND's format, with no flag but the retrieval
    settings: it must leave the generator out by itself (no review text) and add impression metrics."""
    import json

    from pipelines.recgen_pipeline import PipelineConfig
    from recgen import cli
    from recgen.data.synthetic_news import SyntheticNewsConfig, write_mind
    write_mind(SyntheticNewsConfig(users=1000, articles=800), workdir / "data")
    root = workdir / "root"
    status = cli.main(["pipeline", "run", "--data", str(workdir / "data"), "--root", str(root),
                       "--retrieval-config", json.dumps(GOOD)])
    return {"status": status, "config": PipelineConfig.load(str(root)).to_json()}
