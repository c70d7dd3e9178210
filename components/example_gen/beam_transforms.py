"""Beam transforms: staged events -> per-user split -> serialized tf.Examples per split.

Example::

    with beam.Pipeline() as pipeline:
        by_split = (pipeline | beam.io.ReadFromText(pattern)
                    | StagedEventsToExamples(history_length=50, catalog=items))
        by_split[TRAIN] | beam.io.WriteToTFRecord(...)
"""
from __future__ import annotations

import json
from typing import Dict, Sequence

import apache_beam as beam

from components.example_gen.user_examples import StagedEvent, make_example, split_user_events
from recgen.contracts import features as F
from recgen.data.canonical import Item

METRICS_NAMESPACE = "recgen.example_gen"


class _UserExamplesFn(beam.DoFn):
    """One user's events -> one serialized tf.Example per event, tagged with its split."""

    def __init__(self, history_length: int, items_by_id: Dict[str, Item]):
        self._history_length = history_length
        self._items_by_id = items_by_id
        self._counters = {split: beam.metrics.Metrics.counter(METRICS_NAMESPACE, f"{split}_examples")
                          for split in F.SPLITS}

    def process(self, keyed_events):
        _, events = keyed_events
        for split, target, history in split_user_events(list(events)):
            self._counters[split].inc()
            example = make_example(target, history, self._history_length,
                                   self._items_by_id.get(target.item_id), split)
            # Deterministic: the feature map's default wire order follows a per-process hash
            # seed, so the same example would get other bytes in another worker or run.
            yield beam.pvalue.TaggedOutput(split, example.SerializeToString(deterministic=True))


@beam.ptransform_fn
def StagedEventsToExamples(lines, history_length: int, catalog: Sequence[Item] = ()):  # pylint: disable=invalid-name
    """JSON-lines staged events -> a ``DoOutputsTuple`` with one PCollection per split.

    ``catalog`` gives each target item's content features (title, categories, description).
    """
    return (lines
            | "ParseStagedEvent" >> beam.Map(lambda line: StagedEvent(*json.loads(line)))
            | "KeyByUser" >> beam.Map(lambda event: (event.user_id, event))
            | "GroupByUser" >> beam.GroupByKey()
            | "SplitAndBuildExamples" >> beam.ParDo(_UserExamplesFn(history_length, {item.item_id: item for item in catalog}))
            .with_outputs(*F.SPLITS))
