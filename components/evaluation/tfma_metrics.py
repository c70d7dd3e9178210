"""RecGen's custom TFMA metrics, computed per docs/evaluation.md.

TFMA has no whole-catalog top-K ranking metrics, no list-diversity metrics, and its
BLEU/ROUGE tokenise differently from section 3 (sacrebleu's 13a tokenizer; rouge_score
drops punctuation), so these are TFMA ``Metric`` classes of our own. They run inside the
TFX Evaluator like TFMA's built-ins: per slice, for the candidate and the baseline model,
with thresholds and blessing.

* ``TopKAccuracy``: HR@K, NDCG@K, MRR@K of the label item in the model's top-K list;
* ``TopKDiversity``: Coverage@K, ILD@K (category multi-hot vectors; NaN without categories),
  Novelty@K, Gini@K,
  with item statistics from ``item_statistics.py`` (path given by the Evaluator's executor);
* ``ExplanationQuality``: BLEU-1/4, ROUGE-1/2/L, Distinct-1/2, USR, personalization, FMR
  and negative share of generated explanations against the reference text
  (``recgen/text_metrics.py``), and ``pairs`` (how many examples had a reference); FMR reads
  the generator's ``item_keywords.json`` (path given by the Evaluator's executor);
* ``BaselineExplanationQuality``: the same figures for the baseline explainers' texts
  (``baseline_texts.py``, path given by the Evaluator's executor), as ``<baseline>/<metric>``;
* ``ImpressionAccuracy``: MIND's AUC, MRR, nDCG@5 and nDCG@10 of the model's
  ``impression_scores`` over each example's impression (target clicked, the rest not), for data
  with impression logs, and ``impressions`` (how many examples had one).

A retrieval model's predictions are ``{"item_ids": [K], "scores": [K]}``; positions with a
non-finite score (excluded items used as filler) are not part of the list.

Example::

    tfma.MetricConfig(class_name="TopKAccuracy", module=__name__,
                      config=json.dumps({"top_ks": [10, 50]}))
"""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis import constants
from tensorflow_model_analysis.metrics import metric_types

from components.evaluation import baseline_texts, item_statistics
from recgen.contracts import features as F
from recgen.contracts.signatures import IMPRESSION_SCORES_OUTPUT
from recgen.explanation_baselines import BASELINES
from recgen.metrics import IMPRESSION_NAMES, gains_at_k, impression_metrics, rank_in_list
from recgen.text_metrics import text_quality
from trainer.generator.keywords import read_item_keywords

ITEM_IDS, SCORES, EXPLANATIONS = "item_ids", "scores", "explanations"
ACCURACY_NAMES = ("hr", "ndcg", "mrr")
DIVERSITY_NAMES = ("coverage", "ild", "novelty", "gini")
TEXT_NAMES = ("bleu-1", "bleu-4", "rouge-1", "rouge-2", "rouge-l", "distinct-1", "distinct-2", "usr",
              "personalization", "fmr", "negative-share")
PAIRS = "pairs"
IMPRESSIONS = "impressions"
IMPRESSION_METRIC_NAMES = tuple(f"impression_{name}" for name in IMPRESSION_NAMES)  # impression_auc, ...


def text_metric_name(name: str, explainer: str = "") -> str:
    """``"bleu-1"`` for the model's texts, ``"item_most_frequent/bleu-1"`` for a baseline explainer's."""
    return f"{explainer}/{name}" if explainer else name


def metric_names(kind: str, top_ks: Sequence[int] = ()) -> List[str]:
    """Names a metric class writes, e.g. ``metric_names("TopKAccuracy", [10])`` -> ``["hr@10", ...]``."""
    if kind in ("ExplanationQuality", "BaselineExplanationQuality"):
        explainers = BASELINES if kind == "BaselineExplanationQuality" else ("",)
        return [text_metric_name(name, explainer) for explainer in explainers for name in (*TEXT_NAMES, PAIRS)]
    if kind == "ImpressionAccuracy":
        return [*IMPRESSION_METRIC_NAMES, IMPRESSIONS]
    names = {"TopKAccuracy": ACCURACY_NAMES, "TopKDiversity": DIVERSITY_NAMES}[kind]
    return [f"{name}@{k}" for k in top_ks for name in names]


def _as_text(value) -> str:
    value = np.asarray(value).reshape(-1)
    if value.size == 0:
        return ""
    first = value[0]
    return first.decode("utf-8") if isinstance(first, bytes) else str(first)


def ranked_list(predictions: dict) -> List[str]:
    """The recommended item ids of one example, in order, without non-finite-score filler."""
    items = np.asarray(predictions[ITEM_IDS]).reshape(-1)
    scores = np.asarray(predictions[SCORES], dtype=np.float64).reshape(-1)
    return [_as_text(item) for item, score in zip(items, scores) if np.isfinite(score)]


def _output(predictions, name: str):
    """One named model output (TFMA unwraps a signature's only output from its dict)."""
    return predictions[name] if isinstance(predictions, dict) else predictions


class _PerModelCombiner(beam.CombineFn):
    """Reads one model's predictions and labels out of TFMA's ``StandardMetricInputs``."""

    def __init__(self, keys: Dict[str, metric_types.MetricKey], model_name: str):
        self._keys, self._model_name = keys, model_name

    def _predictions(self, element: metric_types.StandardMetricInputs):
        return element.get_by_key(constants.PREDICTIONS_KEY, self._model_name or None)

    def _label(self, element: metric_types.StandardMetricInputs) -> str:
        return _as_text(element.get_by_key(constants.LABELS_KEY, self._model_name or None))

    def merge_accumulators(self, accumulators: Iterable[dict]) -> dict:
        accumulators = iter(accumulators)
        merged = next(accumulators)
        for accumulator in accumulators:
            for name, value in accumulator.items():
                merged[name] = merged[name] + value if not isinstance(value, dict) else _add_counts(
                    merged[name], value)
        return merged


def _add_counts(first: dict, second: dict) -> dict:
    for key, count in second.items():
        first[key] = first.get(key, 0) + count
    return first


def _computations(combiner_class, names: List[str], model_names: Optional[List[str]],
                  preprocessors=None, **combiner_kwargs) -> metric_types.MetricComputations:
    """One computation per model (candidate, baseline), each with its own metric keys.

    One metric class writes several names (hr@10, ndcg@10, ...), so their thresholds live in
    ``MetricsSpec.thresholds`` keyed by name, whose keys TFMA builds with
    ``example_weighted=None``; these keys match them (examples are never weighted here).
    """
    computations = []
    for model_name in model_names or [""]:
        keys = {name: metric_types.MetricKey(name=name, model_name=model_name, example_weighted=None)
                for name in names}
        computations.append(metric_types.MetricComputation(
            keys=list(keys.values()), preprocessors=preprocessors,
            combiner=combiner_class(keys, model_name, **combiner_kwargs)))
    return computations


class _AccuracyCombiner(_PerModelCombiner):
    def __init__(self, keys, model_name, top_ks: Sequence[int]):
        super().__init__(keys, model_name)
        self._top_ks = list(top_ks)

    def create_accumulator(self) -> dict:
        return {"examples": 0, **{name: 0.0 for name in self._keys}}

    def add_input(self, accumulator: dict, element) -> dict:
        rank = rank_in_list(ranked_list(self._predictions(element)), self._label(element))
        accumulator["examples"] += 1
        for k in self._top_ks:
            for name, gain in gains_at_k(np.array([rank]), k).items():
                accumulator[name] += float(gain[0])
        return accumulator

    def extract_output(self, accumulator: dict) -> Dict[metric_types.MetricKey, float]:
        examples = max(accumulator["examples"], 1)
        return {key: accumulator[name] / examples for name, key in self._keys.items()}


class TopKAccuracy(metric_types.Metric):
    """HR@K, NDCG@K and MRR@K of the label item in each example's top-K (docs/evaluation.md#metrics)."""

    def __init__(self, top_ks: Sequence[int] = (10, 50, 100), name: str = "top_k_accuracy"):
        super().__init__(self._computations, top_ks=list(top_ks), name=name)

    @staticmethod
    def _computations(top_ks, model_names=None, **_) -> metric_types.MetricComputations:
        return _computations(_AccuracyCombiner, metric_names("TopKAccuracy", top_ks), model_names, top_ks=top_ks)


class _ImpressionCombiner(_PerModelCombiner):
    def create_accumulator(self) -> dict:
        return {IMPRESSIONS: 0, **{name: 0.0 for name in IMPRESSION_NAMES}}

    def add_input(self, accumulator: dict, element) -> dict:
        predictions = self._predictions(element)
        if not isinstance(predictions, dict) or IMPRESSION_SCORES_OUTPUT not in predictions:
            return accumulator  # a model exported before impression scores
        scores = np.asarray(predictions[IMPRESSION_SCORES_OUTPUT], dtype=np.float64).reshape(-1)
        labels = np.zeros(len(scores))
        labels[0] = 1  # the target's score comes first, then the shown-and-not-clicked items'
        known = np.isfinite(scores)
        if not known[0] or known[1:].sum() == 0:
            return accumulator  # no impression with this example
        accumulator[IMPRESSIONS] += 1
        for name, value in impression_metrics(labels[known], scores[known]).items():
            accumulator[name] += value
        return accumulator

    def extract_output(self, accumulator: dict) -> Dict[metric_types.MetricKey, float]:
        count = accumulator[IMPRESSIONS]
        output = {self._keys[f"impression_{name}"]: accumulator[name] / count if count else float("nan")
                  for name in IMPRESSION_NAMES}
        return {**output, self._keys[IMPRESSIONS]: float(count)}


class ImpressionAccuracy(metric_types.Metric):
    """MIND's impression metrics, averaged over the examples with an impression (docs/evaluation.md#impression-metrics)."""

    def __init__(self, name: str = "impression_accuracy"):
        super().__init__(self._computations, name=name)

    @staticmethod
    def _computations(model_names=None, **_) -> metric_types.MetricComputations:
        return _computations(_ImpressionCombiner, metric_names("ImpressionAccuracy"), model_names)


class _DiversityCombiner(_PerModelCombiner):
    def __init__(self, keys, model_name, top_ks: Sequence[int], item_statistics_path: str):
        super().__init__(keys, model_name)
        self._top_ks, self._path = list(top_ks), item_statistics_path
        self._statistics: Optional[item_statistics.ItemStatistics] = None

    def setup(self):
        if self._statistics is None:
            if not self._path:
                raise ValueError("TopKDiversity needs item_statistics_path (RecGenEvaluator's executor sets it)")
            self._statistics = item_statistics.read(self._path)

    def create_accumulator(self) -> dict:
        zero = {"lists": 0}
        for k in self._top_ks:
            zero.update({f"ild_sum@{k}": 0.0, f"ild_lists@{k}": 0, f"novelty_sum@{k}": 0.0, f"listed@{k}": 0,
                         f"counts@{k}": {}})
        return zero

    def add_input(self, accumulator: dict, element) -> dict:
        self.setup()
        items = ranked_list(self._predictions(element))
        accumulator["lists"] += 1
        for k in self._top_ks:
            top = self._statistics.positions_of(items[:k])
            distance = self._statistics.intra_list_distance(top)
            if distance is not None:
                accumulator[f"ild_sum@{k}"] += distance
                accumulator[f"ild_lists@{k}"] += 1
            accumulator[f"novelty_sum@{k}"] += float(self._statistics.self_information[top].sum())
            accumulator[f"listed@{k}"] += len(top)
            _add_counts(accumulator[f"counts@{k}"], {int(position): 1 for position in top})
        return accumulator

    def extract_output(self, accumulator: dict) -> Dict[metric_types.MetricKey, float]:
        self.setup()
        catalog_size = len(self._statistics.item_ids)
        output = {}
        for k in self._top_ks:
            counts = np.zeros(catalog_size)
            for position, count in accumulator[f"counts@{k}"].items():
                counts[position] = count
            values = {"coverage": np.count_nonzero(counts) / catalog_size,
                      "ild": (accumulator[f"ild_sum@{k}"] / accumulator[f"ild_lists@{k}"]
                              if accumulator[f"ild_lists@{k}"] else float("nan")),
                      "novelty": accumulator[f"novelty_sum@{k}"] / max(accumulator[f"listed@{k}"], 1),
                      "gini": item_statistics.gini(counts)}
            output.update({self._keys[f"{name}@{k}"]: float(value) for name, value in values.items()})
        return output


class TopKDiversity(metric_types.Metric):
    """Coverage@K, ILD@K, Novelty@K and Gini@K over all top-K lists of a slice (docs/evaluation.md#metrics).

    ``item_statistics_path`` is filled in by ``RecGenEvaluator``'s executor at run time.
    """

    def __init__(self, top_ks: Sequence[int] = (10, 50, 100), item_statistics_path: str = "",
                 name: str = "top_k_diversity"):
        super().__init__(self._computations, top_ks=list(top_ks), item_statistics_path=item_statistics_path,
                         name=name)

    @staticmethod
    def _computations(top_ks, item_statistics_path, model_names=None, **_) -> metric_types.MetricComputations:
        return _computations(_DiversityCombiner, metric_names("TopKDiversity", top_ks), model_names,
                             top_ks=top_ks, item_statistics_path=item_statistics_path)


class _TextCombiner(_PerModelCombiner):
    """Scores texts against the label text over the examples that have one; ``_texts`` says which
    (here the model's ``explanations``; the baselines' in ``_BaselineTextCombiner``)."""

    explainers: Tuple[str, ...] = ("",)

    def __init__(self, keys, model_name, item_keywords_path: str = ""):
        super().__init__(keys, model_name)
        self._item_keywords_path = item_keywords_path

    def create_accumulator(self) -> dict:
        return {"rows": []}

    def _item_features(self) -> Optional[Dict[str, List[str]]]:
        """The items' feature words for FMR; None (FMR NaN) when no path was given."""
        return read_item_keywords(self._item_keywords_path) if self._item_keywords_path else None

    def _texts(self, element, user: str, item: str) -> Tuple[str, ...]:
        """One text per explainer of ``explainers``."""
        return (_as_text(_output(self._predictions(element), EXPLANATIONS)),)

    def add_input(self, accumulator: dict, element) -> dict:
        reference = self._label(element)
        if not reference.strip():
            return accumulator  # no reference text to compare with (section 3 scores pairs)
        features = element.get_by_key(constants.FEATURES_KEY)
        user, item = _as_text(features[F.USER_ID]), _as_text(features[F.ITEM_ID])
        accumulator["rows"].append((user, item, reference, self._texts(element, user, item)))
        return accumulator

    def extract_output(self, accumulator: dict) -> Dict[metric_types.MetricKey, float]:
        rows = sorted(accumulator["rows"])  # merge order must not change the figures
        users, items, references = ([row[n] for row in rows] for n in range(3))
        output, item_features = {}, self._item_features()
        for n, explainer in enumerate(self.explainers):
            scores = (text_quality(users, items, [row[3][n] for row in rows], references, item_features) if rows
                      else {**{name: float("nan") for name in TEXT_NAMES}, PAIRS: 0})
            output.update({self._keys[text_metric_name(name, explainer)]: float(scores[name])
                           for name in (*TEXT_NAMES, PAIRS)})
        return output


def _text_preprocessors() -> list:
    return [metric_types.FeaturePreprocessor(feature_keys=[F.USER_ID, F.ITEM_ID])]


class ExplanationQuality(metric_types.Metric):
    """BLEU, ROUGE, Distinct, USR, personalization, FMR and negative share of ``explanations``
    against the label text. ``item_keywords_path`` is filled in by ``RecGenEvaluator``'s executor."""

    def __init__(self, item_keywords_path: str = "", name: str = "explanation_quality"):
        super().__init__(self._computations, item_keywords_path=item_keywords_path, name=name)

    @staticmethod
    def _computations(item_keywords_path="", model_names=None, **_) -> metric_types.MetricComputations:
        return _computations(_TextCombiner, metric_names("ExplanationQuality"), model_names,
                             preprocessors=_text_preprocessors(), item_keywords_path=item_keywords_path)


class _BaselineTextCombiner(_TextCombiner):
    explainers = BASELINES

    def __init__(self, keys, model_name, baselines_path: str, item_keywords_path: str = ""):
        super().__init__(keys, model_name, item_keywords_path)
        self._path = baselines_path
        self._texts_by_pair: Optional[Dict[Tuple[str, str], Tuple[str, ...]]] = None

    def setup(self):
        if self._texts_by_pair is None:
            if not self._path:
                raise ValueError("BaselineExplanationQuality needs baselines_path (RecGenEvaluator's executor sets "
                                 "it from the SplitExplainer's explanations)")
            self._texts_by_pair = baseline_texts.read(self._path)

    def _texts(self, element, user: str, item: str) -> Tuple[str, ...]:
        self.setup()
        if (user, item) not in self._texts_by_pair:
            raise ValueError(f"{self._path} has no baseline texts for user {user!r}, item {item!r}")
        return self._texts_by_pair[(user, item)]


class BaselineExplanationQuality(metric_types.Metric):
    """``ExplanationQuality``'s figures for the baseline explainers' texts, as ``<baseline>/<metric>``.

    Their texts do not depend on the model, so only the candidate gets them (no baseline model
    value, no difference). ``baselines_path`` and ``item_keywords_path`` are filled in by
    ``RecGenEvaluator``'s executor.
    """

    def __init__(self, baselines_path: str = "", item_keywords_path: str = "",
                 name: str = "baseline_explanation_quality"):
        super().__init__(self._computations, baselines_path=baselines_path, item_keywords_path=item_keywords_path,
                         name=name)

    @staticmethod
    def _computations(baselines_path, item_keywords_path="", eval_config=None, model_names=None,
                      **_) -> metric_types.MetricComputations:
        baseline_models = {spec.name for spec in eval_config.model_specs if spec.is_baseline} if eval_config else set()
        candidates = [name for name in model_names or [""] if name not in baseline_models]
        return _computations(_BaselineTextCombiner, metric_names("BaselineExplanationQuality"), candidates,
                             preprocessors=_text_preprocessors(), baselines_path=baselines_path,
                             item_keywords_path=item_keywords_path)


for _metric in (TopKAccuracy, TopKDiversity, ImpressionAccuracy, ExplanationQuality, BaselineExplanationQuality):
    metric_types.register_metric(_metric)
