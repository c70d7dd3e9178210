"""The ExampleGen executor: read and validate the source on Beam, check the error budget, build
examples on Beam."""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import pickle
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
from components.example_gen.beam_transforms import (METRICS_NAMESPACE, ReadShards, ShardSummary,
                                                    WriteBucketExamples, merge_summaries)
from recgen.contracts import features as F
from recgen.contracts.event_spans import Span, list_spans
from recgen.data import DataError, Item, MalformedRowReport, Source, open_source
from recgen.data.canonical import DEFAULT_MAX_MALFORMED_FRACTION
from recgen.data.shards import Shard, plan_shards

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
    """Reads ``data_path`` in its format and writes Split-train/eval/test examples and the catalog.

    Two Beam pipelines: the first parses and validates every shard (``ReadShards``) and reads
    the items; after the error budget is checked, the second builds and writes the examples."""

    def Do(self, input_dict: Dict[str, List[Artifact]], output_dict: Dict[str, List[Artifact]],
           exec_properties: Dict[str, Any]) -> None:
        examples = artifact_utils.get_single_instance(output_dict[EXAMPLES_KEY])
        catalog = artifact_utils.get_single_instance(output_dict[ITEM_CATALOG_KEY])
        source = open_source(exec_properties[DATA_PATH_KEY], exec_properties.get(DATA_FORMAT_KEY) or None)
        spans = list_spans(exec_properties.get(EVENT_SPANS_KEY))
        sources = [source] + [_span_source(span) for span in spans]
        work_dir = os.path.join(examples.uri, ".buckets")
        examples.split_names = artifact_utils.encode_split_names(list(F.SPLITS))
        examples_utils.set_payload_format(examples, example_gen_pb2.PayloadFormat.FORMAT_TF_EXAMPLE)
        shards = plan_shards(sources)
        buckets = _bucket_count(shards)
        read = self._read(sources, shards, work_dir, buckets)
        if read.report.malformed:
            logger.info(f"ExampleGen: {read.report.describe()}")
        if not read.events:
            raise DataError(f"{source.path}: no events could be read ({read.report.describe()})")
        read.report.check_budget(exec_properties[MAX_MALFORMED_FRACTION_KEY])
        write_catalog(read.catalog, catalog.uri)
        counts, users = self._write_examples(work_dir, buckets, examples,
                                             exec_properties[HISTORY_LENGTH_KEY], read.catalog)
        fileio.rmtree(work_dir)
        self._record(source.format, read, users, spans, counts, examples, catalog)

    def _read(self, sources: List[Source], shards: List[Shard], work_dir: str, buckets: int) -> _ReadResult:
        logger.info(f"ExampleGen: reading {len(shards)} shard(s) of {len(sources)} source(s) on Beam")
        fileio.makedirs(work_dir)
        with self._make_beam_pipeline() as pipeline:
            summaries = (pipeline | "Shards" >> beam.Create(shards)
                         | "ReadShards" >> ReadShards(work_dir, buckets, len(shards)))
            items = (pipeline | "Sources" >> beam.Create(list(enumerate(sources)))
                     | "ReadItems" >> beam.Map(_read_items))
            _ = ((summaries | "Summaries" >> beam.combiners.ToList()),
                 (items | "Items" >> beam.combiners.ToList())) | beam.Flatten() | beam.combiners.ToList() | beam.Map(
                _save, os.path.join(work_dir, _SUMMARY))
        with open(os.path.join(work_dir, _SUMMARY), "rb") as stream:
            parts = pickle.load(stream)
        summaries = [part for group in parts for part in group if isinstance(part, ShardSummary)]
        item_reads = sorted(part for group in parts for part in group if isinstance(part, tuple))
        report = MalformedRowReport()
        events_per_source, item_ids = merge_summaries(summaries, report)
        metadata: Dict[str, Item] = {}
        for _, items, items_report in item_reads:  # after every event, as Source.items comes after
            report.accepted += items_report.accepted
            report.malformed += items_report.malformed
            report.first_bad_rows.extend(items_report.first_bad_rows)
            metadata.update((item.item_id, item) for item in items)
        del report.first_bad_rows[report.keep:]
        return _ReadResult(sum(events_per_source), [metadata.get(i, Item(i)) for i in item_ids],
                           len(metadata.keys() - set(item_ids)), report, events_per_source)

    def _write_examples(self, work_dir: str, buckets: int, examples: Artifact, history_length: int,
                        catalog: List[Item]) -> Tuple[Dict[str, int], int]:
        logger.info(f"ExampleGen: building examples of {buckets} user bucket(s) on Beam "
                    f"(history length {history_length})")
        split_uris = {split: artifact_utils.get_split_uri([examples], split) for split in F.SPLITS}
        for uri in split_uris.values():
            fileio.makedirs(uri)
        pipeline = self._make_beam_pipeline()
        _ = (pipeline | "Buckets" >> beam.Create(list(range(buckets)))
             | "WriteExamples" >> beam.ParDo(WriteBucketExamples(work_dir, split_uris, buckets,
                                                                 history_length, catalog)))
        result = pipeline.run()
        result.wait_until_finish()
        counters = result.metrics().query(
            beam.metrics.MetricsFilter().with_namespace(METRICS_NAMESPACE))["counters"]
        totals = {counter.key.metric.name: counter.committed for counter in counters}
        return ({split: int(totals.get(f"{split}_examples", 0)) for split in F.SPLITS},
                int(totals.get("users", 0)))

    @staticmethod
    def _record(source_format: str, read: _ReadResult, users: int, spans: List[Span],
                counts: Dict[str, int], examples: Artifact, catalog: Artifact) -> None:
        report = {"format": source_format, "events": read.events, "users": users,
                  "items": len(read.catalog), "metadata_items_without_events": read.items_without_events,
                  "spans": [{"span": span.number, "path": str(span.events_path), "events": count}
                            for span, count in zip(spans, read.events_per_source[1:])],
                  "examples": counts, **read.report.to_dict()}
        if spans:
            examples.span = spans[-1].number
        with fileio.open(os.path.join(examples.uri, F.INGESTION_REPORT), "w") as stream:
            json.dump(report, stream, indent=2)
        for key in ("events", "users", "items"):
            examples.set_int_custom_property(key, report[key])
        for split, count in counts.items():
            examples.set_int_custom_property(f"{split}_examples", count)
        examples.set_int_custom_property("malformed_rows", read.report.malformed)
        examples.set_string_custom_property("source_format", source_format)
        catalog.set_int_custom_property("items", len(read.catalog))
        absl_logging.info("ExampleGen wrote %s", report)
        logger.info(f"ExampleGen: {read.events:,} events, {users:,} users, "
                    f"{len(read.catalog):,} items -> examples " +
                    ", ".join(f"{s} {c:,}" for s, c in counts.items()))


@dataclasses.dataclass
class _ReadResult:
    """What the reading pipeline found: counts, the catalog and the malformed-row report."""

    events: int
    catalog: List[Item]
    items_without_events: int
    report: MalformedRowReport
    events_per_source: List[int]


_SUMMARY = "summary.pickle"
BUCKET_EVENTS = 200_000  # events per user bucket: what one worker holds in memory at once
_BYTES_PER_EVENT = 100  # a guess for sizing buckets before reading; generic CSV with text: ~150


def _bucket_count(shards: List[Shard]) -> int:
    size = sum(os.path.getsize(shard.path) if shard.end is None and shard.path.is_file()
               else (shard.end or 0) - shard.start for shard in shards)
    return max(1, min(1024, size // (_BYTES_PER_EVENT * BUCKET_EVENTS) + 1))


def _read_items(indexed_source: Tuple[int, Source]) -> Tuple[int, List[Item], MalformedRowReport]:
    index, source = indexed_source
    report = MalformedRowReport()
    return index, list(source.items(report)), report


def _save(parts, path: str) -> None:
    with open(path, "wb") as stream:
        pickle.dump(parts, stream)


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
