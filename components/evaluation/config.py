"""The Evaluator's settings in one place: which split, which K, and the blessing thresholds.

Each model is blessed when, on the evaluated split's overall slice, every headline metric
is at least its floor and, when there is a last blessed model, no worse than that
baseline by more than its allowed drop (absolute, in the metric's own units). The first
run has no baseline, so TFX's Evaluator checks the floors alone.

Example:
    >>> config = EvaluationConfig(retrieval_floors={"hr@10": 0.05})
    >>> eval_config = retrieval_eval_config(config)
    >>> [spec.signature_name for spec in eval_config.model_specs]
    ['serving_default', 'serving_default']
"""
from __future__ import annotations

import dataclasses
import json
from typing import Dict, Tuple

import tensorflow_model_analysis as tfma

from components.evaluation import tfma_metrics
from recgen.contracts import features as F
from trainer.json_config import JsonConfig

CANDIDATE, BASELINE = "candidate", "baseline"
SLICE_FEATURES_SIGNATURE = "slice_features"
SLICE_FEATURE_KEYS = ("history_length_bucket", "target_popularity", "target_seen")


@dataclasses.dataclass(frozen=True)
class EvaluationConfig(JsonConfig):
    """Thresholds and settings of both Evaluators (see the module docstring)."""

    split: str = F.TEST
    top_ks: Tuple[int, ...] = (10, 50, 100)
    retrieval_floors: Dict[str, float] = dataclasses.field(
        default_factory=lambda: {"hr@10": 0.02, "ndcg@10": 0.01})
    retrieval_max_drops: Dict[str, float] = dataclasses.field(
        default_factory=lambda: {"hr@10": 0.01, "ndcg@10": 0.005})
    generator_floors: Dict[str, float] = dataclasses.field(
        default_factory=lambda: {"bleu-1": 1.0, "rouge-l": 1.0})
    generator_max_drops: Dict[str, float] = dataclasses.field(
        default_factory=lambda: {"bleu-1": 1.0, "rouge-l": 1.0})
    impression_metrics: bool = False  # MIND's AUC/MRR/nDCG over impressions (data with impression logs)

    def __post_init__(self):
        object.__setattr__(self, "top_ks", tuple(self.top_ks))  # JSON gives a list back


THRESHOLD_FIELDS = ("retrieval_floors", "retrieval_max_drops", "generator_floors", "generator_max_drops")


def thresholds_json(config: EvaluationConfig) -> str:
    """The blessing thresholds of ``config`` as JSON (what ``parse_thresholds`` reads)."""
    return json.dumps({name: getattr(config, name) for name in THRESHOLD_FIELDS}, sort_keys=True)


def parse_thresholds(text: str) -> EvaluationConfig:
    """JSON of threshold fields (others keep their defaults); ValueError names what is wrong."""
    try:
        changes = json.loads(text)
    except ValueError as error:
        raise ValueError(f"thresholds are not JSON: {error}") from None
    if not isinstance(changes, dict) or set(changes) - set(THRESHOLD_FIELDS):
        raise ValueError(f"thresholds must be a JSON object of {', '.join(THRESHOLD_FIELDS)}; got {text!r}")
    for name, values in changes.items():
        if not isinstance(values, dict) or not all(isinstance(v, (int, float)) for v in values.values()):
            raise ValueError(f"thresholds: {name} must map metric names to numbers; got {values!r}")
    return EvaluationConfig(**changes)


def model_thresholds(config: EvaluationConfig, model: str) -> Dict[str, tfma.PerSliceMetricThresholds]:
    """The thresholds of ``model`` ("retrieval" or "generator"): its floors and allowed drops."""
    return _thresholds(getattr(config, f"{model}_floors"), getattr(config, f"{model}_max_drops"))


def _thresholds(floors: Dict[str, float], max_drops: Dict[str, float]) -> Dict[str, tfma.PerSliceMetricThresholds]:
    """Thresholds on the overall slice only (a threshold without slicing specs binds every slice)."""
    thresholds = {}
    for name in sorted(set(floors) | set(max_drops)):
        threshold = tfma.MetricThreshold()
        if name in floors:
            threshold.value_threshold.lower_bound.value = floors[name]
        if name in max_drops:
            threshold.change_threshold.direction = tfma.MetricDirection.HIGHER_IS_BETTER
            threshold.change_threshold.absolute.value = -max_drops[name]
        thresholds[name] = tfma.PerSliceMetricThresholds(thresholds=[
            tfma.PerSliceMetricThreshold(slicing_specs=[tfma.SlicingSpec()], threshold=threshold)])
    return thresholds


def _model_specs(**spec) -> list:
    return [tfma.ModelSpec(name=CANDIDATE, **spec), tfma.ModelSpec(name=BASELINE, is_baseline=True, **spec)]


def _slicing_specs() -> list:
    """Overall, then one slice per value of each ``slice_features`` output."""
    return [tfma.SlicingSpec()] + [tfma.SlicingSpec(feature_keys=[key]) for key in SLICE_FEATURE_KEYS]


def _metric(class_name: str, **kwargs) -> tfma.MetricConfig:
    return tfma.MetricConfig(class_name=class_name, module=tfma_metrics.__name__, config=json.dumps(kwargs))


def retrieval_eval_config(config: EvaluationConfig) -> tfma.EvalConfig:
    """Whole-catalog top-K accuracy and diversity of the ``serving_default`` lists (and, with
    ``impression_metrics``, MIND's metrics over each test impression), sliced by history length,
    target popularity and whether the target was seen in training (the model's
    ``slice_features`` signature)."""
    return tfma.EvalConfig(
        model_specs=_model_specs(signature_name="serving_default", label_key=F.ITEM_ID,
                                 preprocessing_function_names=[SLICE_FEATURES_SIGNATURE]),
        slicing_specs=_slicing_specs(),
        metrics_specs=[tfma.MetricsSpec(
            metrics=[tfma.MetricConfig(class_name="ExampleCount"),
                     _metric("TopKAccuracy", top_ks=list(config.top_ks)),
                     _metric("TopKDiversity", top_ks=list(config.top_ks)),
                     *([_metric("ImpressionAccuracy")] if config.impression_metrics else [])],
            per_slice_thresholds=model_thresholds(config, "retrieval"))])


def generator_eval_config(config: EvaluationConfig) -> tfma.EvalConfig:
    """Text quality of the ``explain_examples`` explanations against each example's summary, and of
    the baseline explainers' texts (the SplitExplainer's, for the candidate only), with the same
    slices as retrieval."""
    return tfma.EvalConfig(
        model_specs=_model_specs(signature_name="explain_examples", label_key=F.SUMMARY,
                                 preprocessing_function_names=[SLICE_FEATURES_SIGNATURE]),
        slicing_specs=_slicing_specs(),
        metrics_specs=[tfma.MetricsSpec(
            metrics=[tfma.MetricConfig(class_name="ExampleCount"), _metric("ExplanationQuality"),
                     _metric("BaselineExplanationQuality")],
            per_slice_thresholds=model_thresholds(config, "generator"))])
