"""The latest Evaluator and Pusher results of each model, as plain data for the report.

For ``retrieval`` and ``generator``: every slice's metrics for the candidate and (when there
was one) the baseline, the blessing, the thresholds that failed, and what the Pusher did.

Example::

    evaluations = latest_evaluations(config)
    evaluations["retrieval"]["slices"]["overall"]["candidate"]["hr@10"]
    # -> 0.16
"""
from __future__ import annotations

from typing import Dict, List, Optional

import tensorflow_model_analysis as tfma
from google.protobuf import json_format

from components.evaluation.config import BASELINE
from pipelines.recgen_pipeline import GENERATOR_MODEL, RETRIEVAL_MODEL, PipelineConfig
from recgen.contracts.run_root import Run, latest_artifact

OVERALL = "overall"
COMPONENTS = {RETRIEVAL_MODEL: ("RetrievalEvaluator", "RetrievalPusher"),
              GENERATOR_MODEL: ("GeneratorEvaluator", "GeneratorPusher")}


def slice_name(slice_key) -> str:
    """``"overall"`` or ``"history_length_bucket=<=5"``."""
    parts = [f"{key.column}={key.bytes_value.decode('utf-8') if key.HasField('bytes_value') else key.int64_value}"
             for key in slice_key.single_slice_keys]
    return ", ".join(parts) or OVERALL


def read_slices(evaluation_uri: str) -> Dict[str, Dict[str, Dict[str, float]]]:
    """``{slice: {"candidate" | "baseline" | "difference": {metric: value}}}`` from TFMA's output."""
    slices: Dict[str, Dict[str, Dict[str, float]]] = {}
    for metrics in tfma.load_metrics(evaluation_uri):
        per_model = slices.setdefault(slice_name(metrics.slice_key), {})
        for item in metrics.metric_keys_and_values:
            if not item.value.HasField("double_value"):
                continue
            role = "difference" if item.key.is_diff else (
                "baseline" if item.key.model_name == BASELINE else "candidate")
            per_model.setdefault(role, {})[item.key.name] = item.value.double_value.value
    return {name: slices[name] for name in sorted(slices, key=lambda name: (name != OVERALL, name))}


def failed_thresholds(evaluation_uri: str) -> List[dict]:
    """Each failed threshold: slice, metric, whether it compared with the baseline, and the bound."""
    failures = []
    for per_slice in tfma.load_validation_result(evaluation_uri).metric_validations_per_slice:
        for failure in per_slice.failures:
            threshold = json_format.MessageToDict(failure.metric_threshold)
            failures.append({"slice": slice_name(per_slice.slice_key), "metric": failure.metric_key.name,
                             "against_baseline": failure.metric_key.is_diff,
                             "value": failure.metric_value.double_value.value
                             if failure.metric_value.HasField("double_value") else None,
                             "threshold": threshold, "message": failure.message or "below threshold"})
    return failures


def model_evaluation(config: PipelineConfig, model_name: str) -> Optional[dict]:
    evaluator_id, pusher_id = COMPONENTS[model_name]
    evaluation = latest_artifact(config, "ModelEvaluation", producer=evaluator_id)
    if evaluation is None:
        return None
    blessing = latest_artifact(config, "ModelBlessing", producer=evaluator_id)
    pushed = latest_artifact(config, "PushedModel", producer=pusher_id)
    properties = lambda artifact: {key: value.int_value or value.string_value
                                   for key, value in artifact.custom_properties.items()} if artifact else {}
    pushed_properties = properties(pushed)
    slices = read_slices(evaluation.uri)
    return {"evaluation_uri": evaluation.uri,
            "has_baseline": any("baseline" in roles for roles in slices.values()),
            "blessed": bool(properties(blessing).get("blessed")),
            "pushed": bool(pushed_properties.get("pushed")),
            "pushed_version": pushed_properties.get("pushed_version"),
            "pushed_destination": pushed_properties.get("pushed_destination"),
            "failed_thresholds": failed_thresholds(evaluation.uri),
            "slices": slices}


def overall_figures(config: Run, model_name: str) -> Optional[Dict[str, float]]:
    """The candidate's overall-slice figures from the model's newest Evaluator output, or None."""
    evaluation = latest_artifact(config, "ModelEvaluation", producer=COMPONENTS[model_name][0])
    return evaluation and read_slices(evaluation.uri).get(OVERALL, {}).get("candidate")


def latest_evaluations(config: PipelineConfig) -> Dict[str, Optional[dict]]:
    return {name: model_evaluation(config, name) for name in COMPONENTS}


def outcome(evaluation: dict) -> str:
    """``"BLESSED, pushed as version 2"``, ``"BLESSED, not pushed"`` or ``"NOT blessed, not pushed"``."""
    if not evaluation["blessed"]:
        return "NOT blessed, not pushed"
    return f"BLESSED, pushed as version {evaluation['pushed_version']}" if evaluation["pushed"] else "BLESSED, not pushed"


def compared_with(evaluation: dict) -> str:
    return "last blessed model" if evaluation["has_baseline"] else "floors only"


def describe_failure(failure: dict) -> str:
    """E.g. ``"hr@10 (overall): change vs baseline -0.1200, threshold {'absolute': -0.01, ...}"``."""
    kind = "change vs baseline" if failure["against_baseline"] else "value"
    value = "missing" if failure["value"] is None else f"{failure['value']:.4f}"
    bound = failure["threshold"].get("changeThreshold") or failure["threshold"].get("valueThreshold")
    return f"{failure['metric']} ({failure['slice']}): {kind} {value}, threshold {bound}"
