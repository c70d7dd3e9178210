"""Beam transforms of ExampleGen: source shards -> user buckets -> tf.Examples per split.

``ReadShards`` parses every shard (``recgen.data.shards``) on the runner and writes its events as
Arrow IPC files, one per user bucket (a user's events all land in one bucket); it yields one
``ShardSummary`` per shard (counts, malformed rows, items' first appearance). ``WriteBucketExamples``
builds each bucket's examples (``arrow_examples``) and writes them as GZIP TFRecord files, at
zlib level 1: level 6 (the default) took 40% of the stage's time at 1M events for files 20% smaller;
any zlib level is the same GZIP format to TFX's readers (tf.data, tfx-bsl TFXIO).

Both write files from inside a DoFn, named by shard and bucket (so a retried bundle rewrites the
same file): Beam's ``WriteToTFRecord`` pays Python per record, which at millions of records cost
more than all the rest of the stage; records are written by TensorFlow's C++ writer instead.

Example::

    summaries = (pipeline | beam.Create(plan_shards(sources)) | ReadShards(work_dir, buckets=8))
    _ = pipeline | beam.Create(range(8)) | beam.ParDo(WriteBucketExamples(work_dir, split_uris, 50, catalog))
"""
from __future__ import annotations

import dataclasses
import glob
import logging
import os
import zlib
from typing import Dict, List, Sequence, Tuple

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import tensorflow as tf

from components.example_gen.arrow_examples import build_examples, catalog_columns
from recgen.contracts import features as F
from recgen.data.canonical import Item, MalformedRowReport
from recgen.data.formats import movielens
from recgen.data.shards import Shard, count_newlines, first_lines, read_shard

logger = logging.getLogger(__name__)
METRICS_NAMESPACE = "recgen.example_gen"
EXAMPLES_GZIP_LEVEL = 1


@dataclasses.dataclass
class ShardSummary:
    """What reading one shard found; ``items``: item id -> (seq, k) of its first appearance in the
    shard (``_first_appearances``)."""

    ordinal: int
    source_index: int
    events: int
    report: MalformedRowReport
    items: Dict[str, Tuple[int, int]]


def bucket_file(work_dir: str, bucket: int, ordinal: int) -> str:
    return os.path.join(work_dir, f"bucket-{bucket:05d}", f"shard-{ordinal:06d}.arrow")


def _user_buckets(users: pa.Array, buckets: int) -> np.ndarray:
    # crc32, not hash(): the same user must land in the same bucket in every worker process.
    distinct = pc.unique(users)
    codes = np.array([zlib.crc32(user.encode("utf-8")) % buckets for user in distinct.to_pylist()],
                     dtype=np.int64)
    return codes[pc.index_in(users, value_set=distinct).to_numpy()] if len(distinct) else codes


def _write_atomically(path: str, write) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = f"{path}.partial"
    write(partial)
    os.replace(partial, path)


def _first_appearances(table: pa.Table) -> Dict[str, Tuple[int, int]]:
    """Item id -> (seq, k) of its first appearance: k = 0 as an event's item, 1 + i as the i-th
    item shown beside it (impression logs put shown-only items in the catalog)."""
    table = table.combine_chunks()
    shown = table["impression_item_ids"].chunk(0) if table.num_rows else pa.array([], pa.list_(pa.string()))
    parents = pc.list_parent_indices(shown).to_numpy()
    offsets = shown.offsets.to_numpy()
    appearances = pa.table({
        "item_id": pa.concat_arrays([*table["item_id"].chunks, pc.list_flatten(shown)]),
        "seq": pa.concat_arrays([*table["seq"].chunks, pc.take(table["seq"], pa.array(parents)).combine_chunks()]),
        "k": np.concatenate([np.zeros(table.num_rows, np.int64), 1 + np.arange(len(parents)) - offsets[parents]]),
    }).sort_by([("seq", "ascending"), ("k", "ascending")])
    ranks = appearances.append_column("rank", pa.array(np.arange(appearances.num_rows)))
    first = ranks.group_by("item_id").aggregate([("rank", "min")])
    at = pa.array(first["rank_min"].to_numpy())
    return dict(zip(first["item_id"].to_pylist(), zip(pc.take(appearances["seq"], at).to_pylist(),
                                                     pc.take(appearances["k"], at).to_pylist())))


class _ReadShardFn(beam.DoFn):
    def __init__(self, work_dir: str, buckets: int, shards: int):
        self._work_dir, self._buckets, self._shards = work_dir, buckets, shards
        self._tags: Dict[str, dict] = {}

    def _movielens_tags(self, shard: Shard, report: MalformedRowReport) -> dict:
        folder = str(shard.path.parent)
        if shard.start == 0:  # the source's first shard reports tags.csv's malformed rows, once
            self._tags[folder] = movielens.tags_by_rating(shard.path.parent, report)
        elif folder not in self._tags:
            self._tags[folder] = movielens.tags_by_rating(shard.path.parent, MalformedRowReport())
        return self._tags[folder]

    def process(self, shard: Shard, firsts: Dict[int, int]):
        report = MalformedRowReport()
        tags = self._movielens_tags(shard, report) if shard.source.format == "movielens_csv" else None
        table = read_shard(shard, firsts[shard.ordinal], report, tags)
        buckets = _user_buckets(table["user_id"].combine_chunks(), self._buckets)
        for bucket in np.unique(buckets):
            part = table.filter(pa.array(buckets == bucket))

            def write(path, part=part):
                with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, part.schema) as writer:
                    writer.write_table(part)

            _write_atomically(bucket_file(self._work_dir, int(bucket), shard.ordinal), write)
        first_seen = _first_appearances(table)
        logger.info(f"ExampleGen: read shard {shard.ordinal + 1}/{self._shards} ({shard.path.name} "
                    f"from byte {shard.start:,}): {table.num_rows:,} events, {report.malformed} malformed")
        yield ShardSummary(shard.ordinal, shard.source_index, table.num_rows, report,
                           first_seen)


@beam.ptransform_fn
def ReadShards(shards, work_dir: str, buckets: int, shard_count: int):  # pylint: disable=invalid-name
    """Shards -> their events in ``work_dir``'s bucket files; yields a ``ShardSummary`` per shard.

    Line numbers: each range's newlines are counted first, and every range is told the count
    before it in its file (a side input), so malformed rows get their file's line numbers."""
    newlines = shards | "CountNewlines" >> beam.Map(lambda shard: (shard, count_newlines(shard)))
    firsts = newlines | "FirstLines" >> beam.combiners.ToList() | beam.Map(
        lambda pairs: first_lines(*zip(*sorted(pairs, key=lambda pair: pair[0].ordinal))))
    return shards | "ReadShard" >> beam.ParDo(_ReadShardFn(work_dir, buckets, shard_count),
                                              beam.pvalue.AsSingleton(firsts))


def merge_summaries(summaries: Sequence[ShardSummary], report: MalformedRowReport) -> Tuple[List[int], List[str]]:
    """Adds the shards' reports to ``report`` in stream order; returns (events per source, item ids
    in order of first appearance)."""
    events: Dict[int, int] = {}
    first_seen: Dict[str, Tuple[int, int]] = {}
    for summary in sorted(summaries, key=lambda s: s.ordinal):
        report.accepted += summary.report.accepted
        report.malformed += summary.report.malformed
        report.first_bad_rows.extend(summary.report.first_bad_rows)
        events[summary.source_index] = events.get(summary.source_index, 0) + summary.events
        for item, seq in summary.items.items():
            first_seen[item] = min(seq, first_seen.get(item, seq))
    del report.first_bad_rows[report.keep:]
    return [events.get(index, 0) for index in range(max(events, default=-1) + 1)], sorted(
        first_seen, key=first_seen.get)


class WriteBucketExamples(beam.DoFn):
    """A bucket number -> its users' examples, written as ``Split-*/data_tfrecord-BBBBB-of-NNNNN.gz``."""

    def __init__(self, work_dir: str, split_uris: Dict[str, str], buckets: int, history_length: int,
                 catalog: Sequence[Item]):
        self._work_dir, self._split_uris, self._buckets = work_dir, split_uris, buckets
        self._history_length, self._catalog = history_length, list(catalog)
        self._counters = {name: beam.metrics.Metrics.counter(METRICS_NAMESPACE, name)
                          for name in [f"{split}_examples" for split in F.SPLITS] + ["users"]}
        self._catalog_columns = None

    def setup(self):
        self._catalog_columns = catalog_columns(self._catalog)

    def process(self, bucket: int):
        files = sorted(glob.glob(os.path.join(self._work_dir, f"bucket-{bucket:05d}", "*.arrow")))
        if not files:
            return
        table = pa.concat_tables(pa.ipc.open_file(pa.memory_map(path)).read_all() for path in files)
        examples = build_examples(table, self._history_length, self._catalog, self._catalog_columns)
        self._counters["users"].inc(len(pc.unique(table["user_id"])))
        for split, records in examples.items():
            self._counters[f"{split}_examples"].inc(len(records))
            if not records:
                continue

            def write(path, records=records):
                with tf.io.TFRecordWriter(path, tf.io.TFRecordOptions(
                        compression_type="GZIP", compression_level=EXAMPLES_GZIP_LEVEL)) as writer:
                    for record in records:
                        writer.write(record)

            name = f"data_tfrecord-{bucket:05d}-of-{self._buckets:05d}.gz"
            _write_atomically(os.path.join(self._split_uris[split], name), write)
        logger.info(f"ExampleGen: bucket {bucket + 1}/{self._buckets}: {table.num_rows:,} events -> examples")
