"""The latest run's test-split lists and texts, with the Evaluators' overall figures for them.

The SplitRanker and SplitExplainer only write lists and texts; every figure here is read from
the RetrievalEvaluator's or GeneratorEvaluator's output (TFMA, overall slice, the candidate).

Example::

    rankings = latest_rankings(RunRoot("build/run"))
    rankings["topk_test_path"]
    # -> 'build/run/pipeline/SplitRanker/rankings/7/topk_test.jsonl'
    rankings["retrieval"]["hr@10"]
    # -> 0.16
"""
from __future__ import annotations

from typing import Optional

from components import split_explainer, split_ranker
from components.artifacts import Explanations, Rankings
from components.evaluation.tfma_metrics import ACCURACY_NAMES, PAIRS, TEXT_NAMES, text_metric_name
from pipelines.evaluation_report import overall_figures
from pipelines.recgen_pipeline import GENERATOR_MODEL, RETRIEVAL_MODEL
from recgen.contracts.run_root import Run, latest_artifact
from recgen.explanation_baselines import BASELINES


def latest_rankings(config: Run) -> Optional[dict]:
    """The newest SplitRanker's ``topk_test_path``, and as ``retrieval`` the RetrievalEvaluator's
    ``users``, HR/NDCG/MRR@K, with the lists' ``top_k``; None before both have run."""
    rankings, figures = latest_artifact(config, Rankings.TYPE_NAME), overall_figures(config, RETRIEVAL_MODEL)
    if rankings is None or figures is None:
        return None
    accuracy = {name: value for name, value in figures.items() if name.split("@")[0] in ACCURACY_NAMES}
    return {"retrieval": {"users": int(figures["example_count"]),
                          "top_k": rankings.custom_properties[split_ranker.TOP_K_PROPERTY].int_value, **accuracy},
            "topk_test_path": split_ranker.topk_path(rankings.uri)}


def latest_explanations(config: Run) -> Optional[dict]:
    """The newest SplitExplainer's ``explanations_test_path``, and as ``explanations`` the
    GeneratorEvaluator's ``users`` and text quality of the generator and of each baseline."""
    explanations = latest_artifact(config, Explanations.TYPE_NAME)
    figures = overall_figures(config, GENERATOR_MODEL)
    if explanations is None or figures is None:
        return None

    def quality(explainer: str = "") -> dict:
        return {**{name: figures[text_metric_name(name, explainer)] for name in TEXT_NAMES},
                PAIRS: int(figures[text_metric_name(PAIRS, explainer)])}

    return {"explanations": {"users": int(figures["example_count"]), GENERATOR_MODEL: quality(),
                             **{baseline: quality(baseline) for baseline in BASELINES}},
            "explanations_test_path": split_explainer.explanations_path(explanations.uri)}
