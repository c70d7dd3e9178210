"""The vectorized example builder writes exactly the examples of the per-event reference."""
import collections

import pytest
import tensorflow as tf

from components.example_gen.arrow_examples import build_examples
from components.example_gen.user_examples import StagedEvent, make_example, split_user_events
from recgen.contracts import features as F
from recgen.data.canonical import Event, Item
from recgen.data.shards import events_table
from recgen.data.synthetic import SyntheticConfig, generate


def reference(staged, history_length, catalog):
    items = {item.item_id: item for item in catalog}
    by_user = collections.defaultdict(list)
    for event in staged:
        by_user[event.user_id].append(event)
    result = {split: [] for split in F.SPLITS}
    for events in by_user.values():
        for split, target, history in split_user_events(events):
            result[split].append(make_example(target, history, history_length, items.get(target.item_id), split))
    return result


def canonical(examples):
    return sorted(example.SerializeToString(deterministic=True) for example in examples)


def edge_case_events():
    return [
        Event("short", "i1", 5, 3.0, "only two", None), Event("short", "i2", 5),  # < 3 events
        Event("tie", "i1", 7, None, None, "s1"), Event("tie", "i2", 7, 2.5), Event("tie", "i1", 7),
        Event("tie", "i3", 7, 1.0, "t", "s"), Event("tie", "gone", 6),  # equal times, repeat, no catalog item
        Event("ü-ser", "i3", 9, 5.0, "naïve ☃", ""), Event("ü-ser", "i3", 8), Event("ü-ser", "i2", 8),
        # impression logs: shown-and-not-clicked items, on every split
        Event("reader", "i1", 20, impression_item_ids=("i2", "n9")), Event("reader", "i2", 21),
        Event("reader", "i3", 22, impression_item_ids=("n9",)), Event("reader", "n9", 23, impression_item_ids=("i1", "i2")),
    ]


@pytest.mark.parametrize("history_length", [0, 3, 50])
def test_vectorized_examples_parse_to_the_reference_examples(history_length):
    events, catalog = generate(SyntheticConfig(users=40, items=30, seed=3))
    events = events + edge_case_events()
    catalog = catalog + [Item("i1", "One", ("a", "b"), "first"), Item("i2"), Item("i3", "Three", (), "")]
    staged = [StagedEvent(seq, *event) for seq, event in enumerate(events)]
    built = build_examples(events_table(events, range(len(events))), history_length, catalog)
    expected = reference(staged, history_length, catalog)
    for split in F.SPLITS:
        assert len(built[split]) == len(expected[split]) > 0
        assert canonical(map(tf.train.Example.FromString, built[split])) == canonical(expected[split]), split


def test_seq_breaks_timestamp_ties_not_the_table_order():
    events = [Event("u", "late", 1), Event("u", "early", 1), Event("u", "last", 1)]
    built = build_examples(events_table(events, [2, 1, 3]), 50, [])
    assert [tf.train.Example.FromString(r).features.feature[F.ITEM_ID].bytes_list.value for r in built[F.TEST]] == [[b"last"]]
    assert [tf.train.Example.FromString(r).features.feature[F.ITEM_ID].bytes_list.value for r in built[F.EVAL]] == [[b"late"]]
