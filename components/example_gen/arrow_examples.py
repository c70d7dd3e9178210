"""The split protocol and the tf.Example layout of ``user_examples``, vectorized over an Arrow table.

A table of canonical events (``recgen.data.shards.EVENT_SCHEMA``, whole users) is sorted by
(user, timestamp, seq); splits, histories and seen items come from numpy index arithmetic, and
tfx-bsl's C++ ``RecordBatchToExamples`` serializes the list columns. Its output parses to exactly
what ``user_examples.make_example`` builds (tests/test_arrow_examples.py).

Example:
    >>> from recgen.data.shards import events_table
    >>> from recgen.data.canonical import Event
    >>> table = events_table([Event("u", i, t) for i, t in (("a", 10), ("b", 20), ("c", 30))], [0, 1, 2])
    >>> examples = build_examples(table, history_length=50, catalog=[])
    >>> {split: len(records) for split, records in examples.items()}
    {'train': 1, 'eval': 1, 'test': 1}
"""
from __future__ import annotations

from typing import Dict, List, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tfx_bsl.coders.example_coder import RecordBatchToExamples

from components.example_gen.user_examples import MIN_EVENTS_FOR_HELD_OUT
from recgen.contracts import features as F
from recgen.data.canonical import Item

SPLIT_CODES = {F.TRAIN: 0, F.EVAL: 1, F.TEST: 2}
# Optional features: (feature, event column, written on train examples too). A null or empty
# value leaves the feature out, as make_example does.
OPTIONAL_FEATURES = ((F.RATING, "rating", True), (F.TEXT, "text", True), (F.SUMMARY, "summary", True),
                     (F.IMPRESSION_ITEM_IDS, "impression_item_ids", True))


def _lists(values: pa.Array, lengths: np.ndarray) -> pa.Array:
    offsets = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])
    return pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), values)


def _singles(values: pa.Array) -> pa.Array:
    return _lists(values, np.ones(len(values), dtype=np.int64))


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The concatenation of ``arange(s, s + n)`` for each start and length."""
    total = int(lengths.sum())
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    return np.arange(total, dtype=np.int64) - np.repeat(offsets, lengths) + np.repeat(starts, lengths)


def _bytes(values) -> pa.Array:
    return pc.cast(values, pa.large_binary())


def catalog_columns(catalog: Sequence[Item]):
    ids = pa.array([item.item_id for item in catalog], pa.string())
    titles = _bytes(pa.array([item.title for item in catalog], pa.string()))
    categories = pa.array([list(item.categories) for item in catalog], pa.large_list(pa.large_binary()))
    descriptions = _bytes(pa.array([item.description for item in catalog], pa.string()))
    return ids, titles, categories, descriptions


def build_examples(events: pa.Table, history_length: int, catalog: Sequence[Item],
                   prepared_catalog=None) -> Dict[str, List[bytes]]:
    """Serialized tf.Examples per split for every event of ``events`` (which holds whole users).

    ``prepared_catalog``: ``catalog_columns(catalog)`` computed once, for many calls."""
    table = events.take(pc.sort_indices(events, [("user_id", "ascending"), ("timestamp", "ascending"),
                                                 ("seq", "ascending")])).combine_chunks()
    n = table.num_rows
    result: Dict[str, List[bytes]] = {split: [] for split in F.SPLITS}
    if n == 0:
        return result
    users, items = table["user_id"].chunk(0), table["item_id"].chunk(0)
    new_user = np.ones(n, dtype=bool)
    new_user[1:] = pc.not_equal(users[1:], users[:-1]).to_numpy(zero_copy_only=False)
    starts = np.flatnonzero(new_user)
    group = np.cumsum(new_user) - 1
    first = starts[group]  # each event's user's first row
    count = np.diff(np.append(starts, n))[group]
    position = np.arange(n) - first  # events before this one: the full history length
    held_out = count >= MIN_EVENTS_FOR_HELD_OUT
    split = np.where(held_out & (position == count - 2), 1, np.where(held_out & (position == count - 1), 2, 0))

    recent = np.minimum(position, max(history_length, 0))
    history = _ranges(np.arange(n) - recent, recent)
    timestamps = table["timestamp"].chunk(0)
    # seen_item_ids: each item's first occurrence in its user's timeline before the target.
    item_codes = pc.index_in(items, value_set=pc.unique(items)).to_numpy()
    order = np.lexsort((np.arange(n), item_codes, group))
    first_seen = np.ones(n, dtype=bool)
    first_seen[order[1:]] = (group[order][1:] != group[order][:-1]) | (item_codes[order][1:] != item_codes[order][:-1])
    seen_before = np.concatenate([[0], np.cumsum(first_seen)])
    seen_lengths = seen_before[np.arange(n)] - seen_before[first]

    # Rows differ in which optional features they carry: each combination (pattern) is encoded
    # apart. The columns are built once with the rows ordered by pattern (stably, so each
    # pattern's rows keep their order) and sliced per pattern, zero-copy.
    pattern = (split > 0).astype(np.int64)
    present = {}
    for bit, (feature, column, on_train) in enumerate(OPTIONAL_FEATURES, start=1):
        values = table[column].chunk(0)
        has = pc.is_valid(values)
        if pa.types.is_string(values.type):
            has = pc.and_(has, pc.not_equal(values, ""))
        elif pa.types.is_list(values.type) or pa.types.is_large_list(values.type):
            has = pc.and_(has, pc.greater(pc.list_value_length(values), 0))
        has = pc.fill_null(has, False).to_numpy(zero_copy_only=False) & (on_train | (split > 0))
        present[feature] = values
        pattern |= has.astype(np.int64) << bit
    order = np.argsort(pattern, kind="stable")
    keys, key_starts = np.unique(pattern[order], return_index=True)
    key_ends = np.append(key_starts[1:], n)

    ids, titles, categories, descriptions = prepared_catalog or catalog_columns(catalog)
    taken = pa.array(order)
    ordered_items = items.take(taken)
    item_bytes = _bytes(items)
    at = pc.index_in(ordered_items, value_set=ids)
    titles = pc.if_else(pc.is_null(at), b"", pc.take(titles, at))
    descriptions = pc.if_else(pc.is_null(at), b"", pc.take(descriptions, at))
    item_categories = pc.take(categories, at)
    item_categories = pc.if_else(pc.is_null(item_categories), pa.scalar([], item_categories.type), item_categories)
    history = pa.array(_ranges(order - recent[order], recent[order]))
    columns = {
        F.USER_ID: _singles(_bytes(users.take(taken))), F.ITEM_ID: _singles(item_bytes.take(taken)),
        F.TIMESTAMP: _singles(timestamps.take(taken)),
        F.HISTORY_ITEM_IDS: _lists(item_bytes.take(history), recent[order]),
        F.HISTORY_TIMESTAMPS: _lists(timestamps.take(history), recent[order]),
        F.HISTORY_LENGTH: _singles(pa.array(position[order], pa.int64())),
        F.ITEM_TITLE: _singles(titles), F.ITEM_CATEGORIES: item_categories,
        F.ITEM_DESCRIPTION: _singles(descriptions),
    }
    split_names = np.array(F.SPLITS)
    for key, begin, end in zip(keys, key_starts, key_ends):
        rows = order[begin:end]
        batch = {name: column.slice(begin, end - begin) for name, column in columns.items()}
        if key & 1:
            seen = np.flatnonzero(first_seen)[_ranges(seen_before[first[rows]], seen_lengths[rows])]
            batch[F.SEEN_ITEM_IDS] = _lists(item_bytes.take(pa.array(seen)), seen_lengths[rows])
        for bit, (feature, _, _) in enumerate(OPTIONAL_FEATURES, start=1):
            if key >> bit & 1:
                values = present[feature].take(pa.array(rows))
                if pa.types.is_floating(values.type):
                    batch[feature] = _singles(pc.cast(values, pa.float32()))
                elif pa.types.is_string(values.type):
                    batch[feature] = _singles(_bytes(values))
                else:
                    batch[feature] = pc.cast(values, pa.large_list(pa.large_binary()))
        records = RecordBatchToExamples(pa.RecordBatch.from_arrays(list(batch.values()), list(batch)))
        if not key & 1:  # train rows only
            result[F.TRAIN].extend(records)
            continue
        for name, record in zip(split_names[split[rows]].tolist(), records):
            result[name].append(record)
    return result
