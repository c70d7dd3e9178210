"""Any source read shard by shard into Arrow tables of canonical events, with exact line numbers.

``plan_shards`` cuts sources into ``Shard``s: byte ranges of whole lines for the CSV formats
(generic CSV, MovieLens ``ratings.csv``), one shard per source for the others. A runner reads
them in parallel: ``count_newlines`` per shard, ``first_lines`` to combine those counts into each
range's first line number, then ``read_shard`` for the events. CSV ranges are parsed by
``pyarrow.csv`` and checked column-wise; a row the vectorized checks do not clear (and a whole
range pyarrow cannot parse: quoted line breaks, wrong encoding, wrong field count) goes through
the format's per-row converter, so accepted events and malformed-row reports (file, line,
reason) are exactly those of ``Source.events``.

Example:
    >>> import tempfile
    >>> from recgen.data.sources import open_source
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "events.csv").write_text("user_id,item_id,timestamp\\nu1,i1,10\\nu1,i2,x\\nu2,i1,30\\n")
    >>> shards = plan_shards([open_source(folder)], range_bytes=30)
    >>> [(s.start, s.end) for s in shards]
    [(0, 30), (30, 52)]
    >>> firsts = first_lines(shards, [count_newlines(s) for s in shards])
    >>> report = MalformedRowReport()
    >>> tables = [read_shard(s, firsts[s.ordinal], report) for s in shards]
    >>> [t["item_id"].to_pylist() for t in tables], [(r.line, r.reason) for r in report.first_bad_rows]
    ([['i1'], ['i1']], [(3, "field 'timestamp' is not a Unix time or ISO 8601 date: 'x'")])
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from recgen.data.canonical import Event, MalformedRowReport
from recgen.data.formats import generic_csv, movielens
from recgen.data.formats.rows import RowError
from recgen.data.lines import csv_rows, numbered_lines, read_header
from recgen.data.sources import Source

# Canonical events as Arrow columns. ``seq`` orders events as the source stream does (the
# tie-breaker for equal timestamps): the shard's ordinal in the high bits, the row in the low ones.
# The columns after ``seq`` are ``Event``'s fields, in order.
EVENT_SCHEMA = pa.schema([("seq", pa.int64()), ("user_id", pa.string()), ("item_id", pa.string()),
                          ("timestamp", pa.int64()), ("rating", pa.float64()), ("text", pa.string()),
                          ("summary", pa.string()), ("impression_item_ids", pa.list_(pa.string()))])
SEQ_BITS = 32
DEFAULT_RANGE_BYTES = 32 << 20
CSV_FORMATS = ("generic_csv", "movielens_csv")

# Python's str.strip() whitespace: a value with one at either end goes to the per-row converter.
_SPACE = r"[\t-\r\x1c-\x20\x85\xa0\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
_TRIMMED = f"^({_SPACE}.*|.*{_SPACE})$"
_INTEGER = r"^-?[0-9]{1,15}$"  # exact in a float, so int(float(x)) == int(x)
_DECIMAL = r"^-?[0-9]{1,9}(\.[0-9]{1,9})?$"


@dataclasses.dataclass(frozen=True)
class Shard:
    """A piece of a source: ``[start, end)`` bytes of ``path`` (lines starting in it), or the whole
    source when ``end`` is None."""

    ordinal: int
    source_index: int
    source: Source
    path: Path
    start: int = 0
    end: Optional[int] = None


def _events_file(source: Source) -> Optional[Path]:
    if source.format == "generic_csv":
        return generic_csv.events_file(source.path)
    if source.format == "movielens_csv":
        return movielens.ratings_file(source.path)
    return None


def plan_shards(sources: Sequence[Source], range_bytes: int = DEFAULT_RANGE_BYTES) -> List[Shard]:
    """The shards of ``sources`` in stream order (a gzipped file is one range)."""
    shards: List[Shard] = []
    for index, source in enumerate(sources):
        path = _events_file(source)
        if path is None:
            shards.append(Shard(len(shards), index, source, source.path))
            continue
        if source.format == "generic_csv":
            generic_csv.event_columns(path)  # a header lacking a column fails before any work
        size = os.path.getsize(path)
        step = size if path.suffix == ".gz" else range_bytes
        for start in range(0, max(size, 1), max(step, 1)):
            shards.append(Shard(len(shards), index, source, path, start, min(start + step, size)))
    return shards


def count_newlines(shard: Shard) -> int:
    """Line breaks in the shard's bytes (0 for a whole-source shard)."""
    if shard.end is None or shard.path.suffix == ".gz":
        return 0
    with open(shard.path, "rb") as stream:
        stream.seek(shard.start)
        return stream.read(shard.end - shard.start).count(b"\n")


def first_lines(shards: Sequence[Shard], newlines: Sequence[int]) -> Dict[int, int]:
    """Shard ordinal -> the line number at the range's first byte (newlines of the ranges before it
    in its file, plus 1); ``read_shard`` adds one when the range starts inside a line."""
    result, before = {}, {}
    for shard, count in zip(shards, newlines):
        result[shard.ordinal] = 1 + before.get(shard.path, 0)
        before[shard.path] = before.get(shard.path, 0) + count
    return result


def _range_bytes(shard: Shard):
    """(first line's offset, the bytes of the lines starting in the range)."""
    if shard.path.suffix == ".gz":
        return 0, None
    with open(shard.path, "rb") as stream:
        if shard.start > 0:
            stream.seek(shard.start - 1)
            stream.readline()  # the end of the line that started before the range
        begin = stream.tell()
        if begin >= shard.end:
            return begin, b""
        data = stream.read(shard.end - begin)
        if not data.endswith(b"\n"):
            data += stream.readline()
    return begin, data


def events_table(events: Sequence[Event], seqs: Sequence[int]) -> pa.Table:
    columns = list(zip(*events)) if events else [()] * len(Event._fields)
    return pa.Table.from_arrays([pa.array(seqs, pa.int64())] + [
        pa.array(values, field.type) for values, field in zip(columns, list(EVENT_SCHEMA)[1:])],
        schema=EVENT_SCHEMA)


def _converter(shard: Shard):
    if shard.source.format == "generic_csv":
        return generic_csv.event_converter(generic_csv.event_columns(shard.path))
    return movielens.rating_event


def _is_header(shard: Shard) -> bool:
    if shard.source.format == "generic_csv":
        return True
    header = read_header(shard.path)
    return bool(header) and header[0].strip() == "userId"


def _rows_in_python(shard: Shard, data: Optional[bytes], first: int, report: MalformedRowReport,
                    base: int) -> pa.Table:
    lines = numbered_lines(shard.path, report, data=data, first_line=first)
    rows = ((line, fields) for line, fields in csv_rows(shard.path, report, lines=lines)
            if not (line == 1 and _is_header(shard)))
    convert, events, seqs = _converter(shard), [], []
    for line, fields in rows:
        try:
            event = convert(fields)
        except RowError as error:
            report.reject(str(shard.path), line, str(error), ",".join(fields))
            continue
        report.accept()
        events.append(event)
        seqs.append(base + line - first)
    return events_table(events, seqs)


def _matches(column: pa.Array, pattern: str) -> np.ndarray:
    return pc.match_substring_regex(column, pattern).to_numpy(zero_copy_only=False)


def _no_impressions(rows: int) -> pa.Array:
    return pa.ListArray.from_arrays(pa.array(np.zeros(rows + 1, np.int32)), pa.array([], pa.string()))


def _vectorized(shard: Shard, data: bytes, first: int, report: MalformedRowReport,
                base: int) -> Optional[pa.Table]:
    """The range parsed column-wise, or None when pyarrow's rows are not the range's lines."""
    if shard.source.format == "generic_csv":
        header = [c.strip() for c in read_header(shard.path)]
        names = {"user_id": "user_id", "item_id": "item_id", "timestamp": "timestamp",
                 "rating": "rating", "text": "text", "summary": "summary"}
    else:
        header, names = ["userId", "movieId", "rating", "timestamp"], {
            "user_id": "userId", "item_id": "movieId", "timestamp": "timestamp", "rating": "rating"}
    if len(set(header)) != len(header):
        return None
    column_names, invalid = header, []
    try:
        table = pcsv.read_csv(
            pa.py_buffer(data),
            read_options=pcsv.ReadOptions(column_names=column_names, use_threads=False,
                                          block_size=len(data) + 1),
            parse_options=pcsv.ParseOptions(invalid_row_handler=lambda row: invalid.append(row) or "skip"),
            convert_options=pcsv.ConvertOptions(column_types={n: pa.string() for n in column_names}))
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    if invalid or table.num_rows != data.count(b"\n") + (not data.endswith(b"\n")):
        return None  # blank lines, a wrong field count, quoted line breaks: per-row converter
    fields = {name: table.column(names[name]).combine_chunks()
              for name in names if names[name] in table.column_names}
    ok = np.ones(table.num_rows, dtype=bool)
    for name, column in fields.items():
        ok &= ~_matches(column, _TRIMMED)
        if name in ("user_id", "item_id", "timestamp"):
            ok &= pc.not_equal(column, "").to_numpy(zero_copy_only=False)
    ok &= _matches(fields["timestamp"], _INTEGER)
    if "rating" in fields:
        ok &= _matches(fields["rating"], _DECIMAL) | pc.equal(fields["rating"], "").to_numpy(zero_copy_only=False)
    good = pa.array(ok)

    def optional(name, cast=None):
        if name not in fields:
            return pa.nulls(int(ok.sum()), EVENT_SCHEMA.field(name).type)
        column = pc.filter(fields[name], good)
        empty = pc.equal(column, "")
        column = pc.if_else(empty, pa.scalar(None, pa.string()), column)
        return pc.cast(column, cast) if cast else column

    rows = np.arange(table.num_rows)
    fast = pa.Table.from_arrays([
        pa.array(base + rows[ok], pa.int64()), pc.filter(fields["user_id"], good),
        pc.filter(fields["item_id"], good), pc.cast(pc.filter(fields["timestamp"], good), pa.int64()),
        optional("rating", pa.float64()), optional("text"), optional("summary"),
        _no_impressions(int(ok.sum()))], schema=EVENT_SCHEMA)
    report.accepted += int(ok.sum())
    # The rows the vectorized checks did not clear: the per-row converter decides, exactly.
    convert, events, seqs = _converter(shard), [], []
    for row in np.flatnonzero(~ok):
        values = [table.column(i)[int(row)].as_py() for i in range(table.num_columns)]
        try:
            event = convert(values)
        except RowError as error:
            report.reject(str(shard.path), first + int(row), str(error), ",".join(values))
            continue
        report.accept()
        events.append(event)
        seqs.append(base + int(row))
    return pa.concat_tables([fast, events_table(events, seqs)]) if events else fast


def _with_tags(table: pa.Table, tags: Dict[tuple, List[str]]) -> pa.Table:
    """MovieLens: a user's tags of a movie they rated become the event's summary."""
    if not tags or not table.num_rows:
        return table
    keys = pa.array([f"{user}\x00{movie}" for user, movie in tags])
    words = pa.array([", ".join(values) for values in tags.values()])
    found = pc.take(words, pc.index_in(pc.binary_join_element_wise(
        table["user_id"], table["item_id"], "\x00"), value_set=keys))
    return table.set_column(table.schema.get_field_index("summary"), "summary",
                            pc.coalesce(found, table["summary"]))


def read_shard(shard: Shard, first_line: int, report: MalformedRowReport,
               tags: Optional[Dict[tuple, List[str]]] = None) -> pa.Table:
    """The shard's events as an ``EVENT_SCHEMA`` table; malformed rows counted in ``report``.

    ``first_line``: from ``first_lines``. ``tags``: MovieLens ``tags_by_rating`` (read once per
    source by the caller)."""
    base = shard.ordinal << SEQ_BITS
    if shard.end is None:  # a format without a range reader: its own per-row converter
        events = list(shard.source.events(report))
        return events_table(events, range(base, base + len(events)))
    begin, data = _range_bytes(shard)
    first = first_line + (begin > shard.start)
    table = None
    if data:
        if first == 1 and _is_header(shard):
            skipped = data.find(b"\n") + 1 or len(data)
            data, first = data[skipped:], 2
            base += 1
        table = _vectorized(shard, data, first, report, base) if data else events_table([], [])
    if table is None:
        table = _rows_in_python(shard, data, first, report, base)
    return _with_tags(table, tags) if shard.source.format == "movielens_csv" else table
