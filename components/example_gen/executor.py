"""The ExampleGen executor: stage the source, check the error budget, build examples on Beam."""
from __future__ import annotations

import json
import logging
import os
from typing import Any, Dict, List, Optional, Tuple

import apache_beam as beam
import tensorflow as tf
from absl import logging as absl_logging
from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_beam_executor
from tfx.dsl.io import fileio
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils, standard_artifacts
from tfx.types.artifact import Artifact

from components.artifacts import ItemCatalog
from components.example_gen.beam_transforms import METRICS_NAMESPACE, StagedEventsToExamples
from components.example_gen.staging import SHARD_PATTERN, StagedSource, stage_events
from recgen.contracts import features as F
from recgen.contracts.event_spans import Span, list_spans
from recgen.data import Item, Source, open_source
from recgen.data.canonical import DEFAULT_MAX_MALFORMED_FRACTION

logger = logging.getLogger(__name__)

EXAMPLES_KEY = "examples"
ITEM_CATALOG_KEY = "item_catalog"
DATA_PATH_KEY = "data_path"
DATA_FORMAT_KEY = "data_format"
HISTORY_LENGTH_KEY = "history_length"
MAX_MALFORMED_FRACTION_KEY = "max_malformed_fraction"
EVENT_SPANS_KEY = "event_spans"


def _item_example(item: Item) -> bytes:
    def text(*values):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.encode("utf-8") for v in values]))

    return tf.train.Example(features=tf.train.Features(feature={
        "item_id": text(item.item_id), "title": text(item.title),
        "categories": text(*item.categories), "description": text(item.description),
    })).SerializeToString()


def write_catalog(catalog: List[Item], uri: str) -> None:
    options = tf.io.TFRecordOptions(compression_type="GZIP")
    with tf.io.TFRecordWriter(os.path.join(uri, F.CATALOG_FILE), options) as writer:
        for item in catalog:
            writer.write(_item_example(item))


class Executor(base_beam_executor.BaseBeamExecutor):
    """Reads ``data_path`` in its format and writes Split-train/eval/test examples and the catalog."""

    def Do(self, input_dict: Dict[str, List[Artifact]], output_dict: Dict[str, List[Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        examples = artifact_utils.get_single_instance(output_dict[EXAMPLES_KEY])
        catalog = artifact_utils.get_single_instance(output_dict[ITEM_CATALOG_KEY])
        source = open_source(exec_properties[DATA_PATH_KEY], exec_properties.get(DATA_FORMAT_KEY) or None)
        spans = list_spans(exec_properties.get(EVENT_SPANS_KEY))
        staging_dir = os.path.join(examples.uri, ".staging")
        examples.split_names = artifact_utils.encode_split_names(list(F.SPLITS))
        examples_utils.set_payload_format(examples, example_gen_pb2.PayloadFormat.FORMAT_TF_EXAMPLE)
        staged = stage_events([source] + [_span_source(span) for span in spans], staging_dir)
        if staged.report.malformed:
            logger.info(f"ExampleGen: {staged.report.describe()}")
        staged.report.check_budget(exec_properties[MAX_MALFORMED_FRACTION_KEY])
        write_catalog(staged.catalog, catalog.uri)
        counts = self._write_examples(os.path.join(staging_dir, SHARD_PATTERN), examples,
                                      exec_properties[HISTORY_LENGTH_KEY], staged.catalog)
        fileio.rmtree(staging_dir)
        self._record(staged, spans, counts, examples, catalog)

    def _write_examples(self, staged_pattern: str, examples: Artifact, history_length: int,
                        catalog: List[Item]) -> Dict[str, int]:
        logger.info(f"ExampleGen: building examples on Beam (history length {history_length})")
        pipeline = self._make_beam_pipeline()
        by_split = (pipeline
                    | "ReadStagedEvents" >> beam.io.ReadFromText(staged_pattern)
                    | "ToExamples" >> StagedEventsToExamples(history_length, catalog))
        for split in F.SPLITS:
            prefix = os.path.join(artifact_utils.get_split_uri([examples], split), "data_tfrecord")
            _ = by_split[split] | f"Write[{split}]" >> beam.io.WriteToTFRecord(
                prefix, file_name_suffix=".gz")
        result = pipeline.run()
        result.wait_until_finish()
        counters = result.metrics().query(
            beam.metrics.MetricsFilter().with_namespace(METRICS_NAMESPACE))["counters"]
        totals = {counter.key.metric.name: counter.committed for counter in counters}
        return {split: int(totals.get(f"{split}_examples", 0)) for split in F.SPLITS}

    @staticmethod
    def _record(staged: StagedSource, spans: List[Span], counts: Dict[str, int], examples: Artifact,
                catalog: Artifact) -> None:
        report = {"format": staged.format, "events": staged.events, "users": staged.users,
                  "items": len(staged.catalog), "metadata_items_without_events": staged.items_without_events,
                  "spans": [{"span": span.number, "path": str(span.events_path), "events": count}
                            for span, count in zip(spans, staged.events_per_source[1:])],
                  "examples": counts, **staged.report.to_dict()}
        if spans:
            examples.span = spans[-1].number
        with fileio.open(os.path.join(examples.uri, F.INGESTION_REPORT), "w") as stream:
            json.dump(report, stream, indent=2)
        for key in ("events", "users", "items"):
            examples.set_int_custom_property(key, report[key])
        for split, count in counts.items():
            examples.set_int_custom_property(f"{split}_examples", count)
        examples.set_int_custom_property("malformed_rows", staged.report.malformed)
        examples.set_string_custom_property("source_format", staged.format)
        catalog.set_int_custom_property("items", len(staged.catalog))
        absl_logging.info("ExampleGen wrote %s", report)
        logger.info(f"ExampleGen: {staged.events:,} events, {staged.users:,} users, "
                    f"{len(staged.catalog):,} items -> examples " +
                    ", ".join(f"{s} {c:,}" for s, c in counts.items()))


def _span_source(span: Span) -> Source:
    return open_source(span.events_path, "generic_csv")


def run_standalone(data_path: str, out_dir: str, data_format: Optional[str] = None,
                   history_length: int = F.DEFAULT_HISTORY_LENGTH,
                   max_malformed_fraction: float = DEFAULT_MAX_MALFORMED_FRACTION,
                   event_spans: Optional[str] = None) -> Tuple[Artifact, Artifact]:
    """Runs the executor outside a pipeline (benchmarks, tests); returns (examples, item_catalog).

    Example::

        examples, catalog = run_standalone("../shared/data/movielens-latest-small", "/tmp/eg")
    """
    examples, catalog = standard_artifacts.Examples(), ItemCatalog()
    examples.uri, catalog.uri = os.path.join(out_dir, "examples"), os.path.join(out_dir, "catalog")
    fileio.makedirs(catalog.uri)
    Executor(base_beam_executor.BaseBeamExecutor.Context(beam_pipeline_args=[])).Do(
        {}, {EXAMPLES_KEY: [examples], ITEM_CATALOG_KEY: [catalog]},
        {DATA_PATH_KEY: str(data_path), DATA_FORMAT_KEY: data_format or "",
         HISTORY_LENGTH_KEY: history_length, MAX_MALFORMED_FRACTION_KEY: max_malformed_fraction,
         EVENT_SPANS_KEY: event_spans or ""})
    return examples, catalog
