"""The evaluation protocol's split (docs/evaluation.md#protocol) and the tf.Example of one target event.

A user's events are ordered by time, ties kept in source order. A user with at least
3 events gives the last to ``test``, the one before to ``eval`` and the rest to
``train``; a user with fewer is train-only. Every event is a target; its history is
everything the user did before it (so the test target's history is train + eval).

Example:
    >>> events = [StagedEvent(0, "u", "a", 10), StagedEvent(1, "u", "b", 20), StagedEvent(2, "u", "c", 30)]
    >>> [(split, e.item_id) for split, e, _ in split_user_events(events)]
    [('train', 'a'), ('eval', 'b'), ('test', 'c')]
"""
from __future__ import annotations

import collections
from typing import Iterator, List, Optional, Sequence, Tuple

import tensorflow as tf

from recgen.contracts import features as F
from recgen.data.canonical import Event, Item

MIN_EVENTS_FOR_HELD_OUT = 3


# A canonical event plus ``seq``, its position in the source (the tie-breaker for equal times).
StagedEvent = collections.namedtuple("StagedEvent", ("seq",) + Event._fields,
                                     defaults=Event._field_defaults.values())


def split_user_events(events: Sequence[StagedEvent]) -> Iterator[Tuple[str, StagedEvent, List[StagedEvent]]]:
    """Yields ``(split, target, history_before_target)`` for each of one user's events."""
    ordered = sorted(events, key=lambda e: (e.timestamp, e.seq))
    count = len(ordered)
    for index, event in enumerate(ordered):
        if count < MIN_EVENTS_FOR_HELD_OUT or index < count - 2:
            split = F.TRAIN
        else:
            split = F.EVAL if index == count - 2 else F.TEST
        yield split, event, ordered[:index]


def _bytes(*values: str) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.encode("utf-8") for v in values]))


def _ints(*values: int) -> tf.train.Feature:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def make_example(target: StagedEvent, history: List[StagedEvent], history_length: int,
                 item: Optional[Item] = None, split: str = F.TRAIN) -> tf.train.Example:
    """The tf.Example for one target event with the last ``history_length`` events before it.

    ``item`` holds the target item's content features; eval and test examples also
    carry every item seen before the target, for ranking to exclude. Where the source logs
    impressions, every example carries the target's (shown, not clicked): negatives in training,
    the ranked list of the impression metrics in evaluation.
    """
    recent = history[-history_length:] if history_length > 0 else []
    item = item or Item(target.item_id)
    feature = {
        F.USER_ID: _bytes(target.user_id),
        F.ITEM_ID: _bytes(target.item_id),
        F.TIMESTAMP: _ints(target.timestamp),
        F.HISTORY_ITEM_IDS: _bytes(*(e.item_id for e in recent)),
        F.HISTORY_TIMESTAMPS: _ints(*(e.timestamp for e in recent)),
        F.HISTORY_LENGTH: _ints(len(history)),
        F.ITEM_TITLE: _bytes(item.title),
        F.ITEM_CATEGORIES: _bytes(*item.categories),
        F.ITEM_DESCRIPTION: _bytes(item.description),
    }
    if split != F.TRAIN:
        feature[F.SEEN_ITEM_IDS] = _bytes(*dict.fromkeys(e.item_id for e in history))
    if target.impression_item_ids:
        feature[F.IMPRESSION_ITEM_IDS] = _bytes(*target.impression_item_ids)
    if target.rating is not None:
        feature[F.RATING] = tf.train.Feature(float_list=tf.train.FloatList(value=[target.rating]))
    if target.text:
        feature[F.TEXT] = _bytes(target.text)
    if target.summary:
        feature[F.SUMMARY] = _bytes(target.summary)
    return tf.train.Example(features=tf.train.Features(feature=feature))
