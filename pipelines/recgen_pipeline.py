"""The RecGen TFX pipeline, as one function that wires components (the TFX way).

RecGenExampleGen -> StatisticsGen -> ImportSchemaGen (curated schema) -> ExampleValidator
-> ValidationGate; after the gate, two branches:

* retrieval: TextEncoderGen (item-text encoder), Transform (trainer/preprocessing.py),
  RetrievalTrainer (warm-started from the latest blessed model when there is one),
  SplitRanker (top-100 lists of the test split), RetrievalEvaluator (TFMA: the test split's
  metrics, against the latest blessed retrieval model) and RetrievalPusher;
* explanations: GeneratorTransform (review keywords, trainer/generator/preprocessing.py),
  GeneratorTrainer (keras-hub causal LM), SplitExplainer (test-split explanations and two
  baselines' texts), GeneratorEvaluator (TFMA: text quality of the generator and of the
  baselines) and GeneratorPusher.

Each branch's Pusher writes a blessed model as the next version of ``retrieval`` or
``generator`` under ``serving_base`` (a TF Serving model base).

The same function builds the pipeline for LocalDagRunner and for Kubeflow (``pipelines/kubeflow_runner.py``):
``data_path``, ``serving_base`` and ``evaluation_thresholds`` take plain values locally and
``RuntimeParameter``s (pipeline parameters set per run) on Kubeflow.

Example::

    pipeline = create_pipeline(PipelineConfig(data_path="../shared/data/movielens-latest-small",
                                              root="/tmp/recgen"))
    [c.id for c in pipeline.components]
    # -> ['RecGenExampleGen', 'StatisticsGen', 'ImportSchemaGen', 'ExampleValidator', 'ValidationGate', ...]
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import List, Optional, Union

from tfx import v1 as tfx

from components.catalog_trainer import GeneratorTrainer, RetrievalTrainer
from components.evaluation.config import EvaluationConfig, generator_eval_config, retrieval_eval_config
from components.evaluation.evaluator import RecGenEvaluator
from components.example_gen.component import RecGenExampleGen
from components.model_base_pusher import ModelBasePusher
from components.split_explainer import SplitExplainer
from components.split_ranker import SplitRanker
from components.text_encoder.component import TextEncoderGen
from components.validation_gate import ValidationGate
from recgen.contracts import features as F
from recgen.contracts.run_root import RunRoot
from recgen.contracts.signatures import EXPLAIN_SIGNATURE, ITEM_ID_SIGNATURES, RECOMMEND_SIGNATURE
from recgen.data.canonical import DEFAULT_MAX_MALFORMED_FRACTION, DataError
from trainer.config import RetrievalConfig
from trainer.generator.config import GeneratorConfig

SCHEMA_PATH = os.path.join(os.path.dirname(__file__), "schema", "schema.pbtxt")
PIPELINE_NAME = "recgen"
SETTINGS_FILE = "pipeline_settings.json"
RETRIEVAL_MODEL, GENERATOR_MODEL = "retrieval", "generator"  # model names in the serving base
StrOrParameter = Union[str, tfx.dsl.experimental.RuntimeParameter]


def _absolute(path: StrOrParameter) -> StrOrParameter:
    """A local path made absolute; a runtime parameter as it is (resolved where the pipeline runs)."""
    return os.path.abspath(path) if isinstance(path, str) else path


@dataclasses.dataclass
class PipelineConfig:
    """Everything a pipeline run needs; ``root`` holds artifacts and the metadata store."""

    data_path: StrOrParameter
    root: str
    data_format: Optional[str] = None
    max_malformed_fraction: float = DEFAULT_MAX_MALFORMED_FRACTION
    schema_path: str = SCHEMA_PATH
    beam_pipeline_args: List[str] = dataclasses.field(default_factory=list)
    pipeline_name: str = PIPELINE_NAME
    retrieval: RetrievalConfig = RetrievalConfig()  # its history_length is ExampleGen's too
    generator: GeneratorConfig = GeneratorConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    serving_base: Optional[StrOrParameter] = None  # default: <root>/serving
    train_steps: Optional[int] = None  # a step budget instead of epochs (smoke tests, degraded runs)
    text_encoder_dim: int = 32
    train: bool = True  # False: stop after data validation (ingestion checks)
    explain: bool = True  # False: no explanation branch (data without review text or tags)
    event_spans: Optional[str] = None  # retraining's spans of service events (recgen/contracts/event_spans.py)
    # JSON of EvaluationConfig threshold fields the Evaluators apply at run time instead of
    # ``evaluation``'s (a Kubeflow pipeline parameter); None: ``evaluation``'s, fixed here.
    evaluation_thresholds: Optional[StrOrParameter] = None

    @property
    def pipeline_root(self) -> str:
        return os.path.join(self.root, "pipeline")

    @property
    def model_base(self) -> StrOrParameter:
        return _absolute(self.serving_base or os.path.join(self.root, "serving"))

    @property
    def metadata_path(self) -> str:
        return RunRoot(self.root).metadata_path

    @property
    def settings_path(self) -> str:
        """Where ``recgen pipeline run`` leaves these settings for ``recgen retrain``."""
        return os.path.join(self.root, SETTINGS_FILE)

    def save(self) -> None:
        os.makedirs(self.root, exist_ok=True)
        with open(self.settings_path, "w", encoding="utf-8") as stream:
            stream.write(self.to_json())

    @classmethod
    def load(cls, root: str) -> "PipelineConfig":
        """The settings saved under ``root``, with ``root`` as given here."""
        path = os.path.join(root, SETTINGS_FILE)
        if not os.path.isfile(path):
            raise DataError(f"{path}: no saved pipeline settings; run `recgen pipeline run --root {root}` first")
        with open(path, encoding="utf-8") as stream:
            return dataclasses.replace(cls.from_json(stream.read()), root=root)

    def to_json(self) -> str:
        """Every field, nested model settings included (``from_json`` reads it back)."""
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "PipelineConfig":
        fields = json.loads(text)
        if "history_length" in fields:  # settings saved before RetrievalConfig owned it
            fields.setdefault("retrieval", {})["history_length"] = fields.pop("history_length")
        fields.update({name: config_class(**fields[name]) for name, config_class in _NESTED_CONFIGS.items()
                       if name in fields})
        return cls(**fields)


_NESTED_CONFIGS = {"retrieval": RetrievalConfig, "generator": GeneratorConfig, "evaluation": EvaluationConfig}


def create_components(config: PipelineConfig) -> list:
    example_gen = RecGenExampleGen(
        data_path=_absolute(config.data_path), data_format=config.data_format,
        history_length=config.retrieval.history_length, max_malformed_fraction=config.max_malformed_fraction,
        event_spans=_absolute(config.event_spans))
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = tfx.components.ImportSchemaGen(schema_file=os.path.abspath(config.schema_path))
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"])
    validation_gate = ValidationGate(anomalies=example_validator.outputs["anomalies"])
    validated = [example_gen, statistics_gen, schema_gen, example_validator, validation_gate]
    if not config.train:
        return validated
    components = validated + create_retrieval_components(config, example_gen, schema_gen, validation_gate)
    if config.explain:
        components += create_generator_components(config, example_gen, schema_gen, validation_gate)
    return components


def create_retrieval_components(config: PipelineConfig, example_gen, schema_gen, validation_gate) -> list:
    """The recommender after the validation gate: text encoder, Transform, Trainer, test-split ranking."""
    text_encoder_gen = TextEncoderGen(item_catalog=example_gen.outputs["item_catalog"],
                                      dim=config.text_encoder_dim)
    transform = tfx.components.Transform(
        examples=example_gen.outputs["examples"], schema=schema_gen.outputs["schema"],
        preprocessing_fn="trainer.preprocessing.preprocessing_fn",
        custom_config={"retrieval": config.retrieval.to_json()},
        splits_config=tfx.proto.SplitsConfig(analyze=[F.TRAIN], transform=list(F.SPLITS)),
        disable_statistics=True)
    for component in (text_encoder_gen, transform):
        component.add_upstream_node(validation_gate)
    latest_blessed_model = latest_blessed("RetrievalTrainer", "RetrievalEvaluator")
    trainer = RetrievalTrainer(
        examples=transform.outputs["transformed_examples"], transform_graph=transform.outputs["transform_graph"],
        schema=schema_gen.outputs["schema"], item_catalog=example_gen.outputs["item_catalog"],
        text_encoder=text_encoder_gen.outputs["text_encoder"],
        base_model=latest_blessed_model.outputs["model"], config=config.retrieval,
        train_steps=config.train_steps)
    ranker = SplitRanker(examples=example_gen.outputs["examples"], model=trainer.outputs["model"])
    evaluator = RecGenEvaluator(
        examples=example_gen.outputs["examples"], model=trainer.outputs["model"],
        baseline_model=latest_blessed_model.outputs["model"], item_catalog=example_gen.outputs["item_catalog"],
        eval_config=retrieval_eval_config(config.evaluation), example_splits=[config.evaluation.split],
        thresholds=config.evaluation_thresholds, thresholds_model=RETRIEVAL_MODEL).with_id("RetrievalEvaluator")
    pusher = ModelBasePusher(
        model=trainer.outputs["model"], model_blessing=evaluator.outputs["blessing"],
        examples=example_gen.outputs["examples"], serving_base=config.model_base, model_name=RETRIEVAL_MODEL,
        warmup_signatures=",".join(["serving_default", RECOMMEND_SIGNATURE, *ITEM_ID_SIGNATURES])
    ).with_id("RetrievalPusher")
    return [text_encoder_gen, transform, latest_blessed_model, trainer, ranker, evaluator, pusher]


def latest_blessed(trainer_id: str, evaluator_id: str) -> tfx.dsl.Resolver:
    """The newest model of ``trainer_id`` that ``evaluator_id`` blessed (none on a first run)."""
    return tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model, producer_component_id=trainer_id),
        model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing,
                                       producer_component_id=evaluator_id),
    ).with_id(f"{trainer_id}_latest_blessed")


def create_generator_components(config: PipelineConfig, example_gen, schema_gen, validation_gate) -> list:
    """The explanation generator after the validation gate: keyword Transform, Trainer, test-split
    explanations. Its Transform only analyses (the Trainer applies its graph to raw examples)."""
    transform = tfx.components.Transform(
        examples=example_gen.outputs["examples"], schema=schema_gen.outputs["schema"],
        preprocessing_fn="trainer.generator.preprocessing.preprocessing_fn",
        custom_config={"generator": config.generator.to_json()},
        splits_config=tfx.proto.SplitsConfig(analyze=[F.TRAIN]), materialize=False,
        disable_statistics=True).with_id("GeneratorTransform")
    transform.add_upstream_node(validation_gate)
    trainer = GeneratorTrainer(
        examples=example_gen.outputs["examples"], transform_graph=transform.outputs["transform_graph"],
        schema=schema_gen.outputs["schema"], item_catalog=example_gen.outputs["item_catalog"],
        config=config.generator, train_steps=config.train_steps)
    explainer = SplitExplainer(examples=example_gen.outputs["examples"], model=trainer.outputs["model"])
    latest_blessed_model = latest_blessed("GeneratorTrainer", "GeneratorEvaluator")
    evaluator = RecGenEvaluator(
        examples=example_gen.outputs["examples"], model=trainer.outputs["model"],
        baseline_model=latest_blessed_model.outputs["model"], explanations=explainer.outputs["explanations"],
        eval_config=generator_eval_config(config.evaluation), example_splits=[config.evaluation.split],
        thresholds=config.evaluation_thresholds, thresholds_model=GENERATOR_MODEL).with_id("GeneratorEvaluator")
    pusher = ModelBasePusher(
        model=trainer.outputs["model"], model_blessing=evaluator.outputs["blessing"],
        examples=example_gen.outputs["examples"], serving_base=config.model_base, model_name=GENERATOR_MODEL,
        warmup_signatures=EXPLAIN_SIGNATURE).with_id("GeneratorPusher")
    return [transform, trainer, explainer, latest_blessed_model, evaluator, pusher]


def create_pipeline(config: PipelineConfig, metadata_connection_config=None) -> tfx.dsl.Pipeline:
    """The pipeline; ``metadata_connection_config`` is where its runner keeps ML Metadata
    (LocalDagRunner: SQLite under ``config.root``; Kubeflow brings its own)."""
    return tfx.dsl.Pipeline(
        pipeline_name=config.pipeline_name,
        pipeline_root=config.pipeline_root,
        components=create_components(config),
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=config.beam_pipeline_args,
        enable_cache=False)
