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
from components.example_gen import features as F
from trainer.json_config import JsonConfig

CANDIDATE, BASELINE = "candidate", "baseline"
SLICE_FEATURES_SIGNATURE = "slice_features"
SLICE_FEATURE_KEYS = ("history_length_bucket", "target_popularity")


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

    def __post_init__(self):
        object.__setattr__(self, "top_ks", tuple(self.top_ks))  # JSON gives a list back


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
    """Whole-catalog top-K accuracy and diversity of the ``serving_default`` lists, sliced by
    history length and target popularity (the model's ``slice_features`` signature)."""
    return tfma.EvalConfig(
        model_specs=_model_specs(signature_name="serving_default", label_key=F.ITEM_ID,
                                 preprocessing_function_names=[SLICE_FEATURES_SIGNATURE]),
        slicing_specs=_slicing_specs(),
        metrics_specs=[tfma.MetricsSpec(
            metrics=[tfma.MetricConfig(class_name="ExampleCount"),
                     _metric("TopKAccuracy", top_ks=list(config.top_ks)),
                     _metric("TopKDiversity", top_ks=list(config.top_ks))],
            per_slice_thresholds=_thresholds(config.retrieval_floors, config.retrieval_max_drops))])


def generator_eval_config(config: EvaluationConfig) -> tfma.EvalConfig:
    """Text quality of the ``explain_examples`` explanations against each example's summary, with
    the same slices as retrieval."""
    return tfma.EvalConfig(
        model_specs=_model_specs(signature_name="explain_examples", label_key=F.SUMMARY,
                                 preprocessing_function_names=[SLICE_FEATURES_SIGNATURE]),
        slicing_specs=_slicing_specs(),
        metrics_specs=[tfma.MetricsSpec(
            metrics=[tfma.MetricConfig(class_name="ExampleCount"), _metric("ExplanationQuality")],
            per_slice_thresholds=_thresholds(config.generator_floors, config.generator_max_drops))])
