"""The latest test-split lists and texts of a run, read through its ML Metadata store.

Example::

    latest_rankings(RunRoot("build/run"))["topk_test_path"]
    # -> 'build/run/pipeline/TestSetRanker/rankings/7/topk_test.jsonl'
"""
from __future__ import annotations

import json
import os
from typing import Optional

from components import test_set_explainer, test_set_ranker
from components.artifacts import Explanations, Rankings
from recgen.contracts.run_root import Run, latest_artifact_uri


def _latest_metrics(config: Run, type_name: str, metrics_file: str) -> Optional[tuple]:
    """``(uri, metrics)`` of the newest artifact of ``type_name``, or None."""
    uri = latest_artifact_uri(config, type_name)
    if uri is None:
        return None
    with open(os.path.join(uri, metrics_file), encoding="utf-8") as stream:
        return uri, json.load(stream)


def latest_rankings(config: Run) -> Optional[dict]:
    """The newest TestSetRanker's metrics, with ``topk_test_path``."""
    found = _latest_metrics(config, Rankings.TYPE_NAME, test_set_ranker.METRICS_FILE)
    return found and {"retrieval": found[1], "topk_test_path": test_set_ranker.topk_path(found[0])}


def latest_explanations(config: Run) -> Optional[dict]:
    """The newest TestSetExplainer's metrics (generator and baselines), with ``explanations_test_path``."""
    found = _latest_metrics(config, Explanations.TYPE_NAME, test_set_explainer.METRICS_FILE)
    return found and {"explanations": found[1],
                      "explanations_test_path": test_set_explainer.explanations_path(found[0])}
