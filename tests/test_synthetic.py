"""The synthetic generator: deterministic, sized as asked, and carrying learnable structure."""
from collections import Counter

import numpy as np

from recgen.data import open_source, MalformedRowReport
from recgen.data.synthetic import SyntheticConfig, generate, write_generic_csv

SMALL = SyntheticConfig(users=300, items=200, mean_events_per_user=30, seed=3)


def test_same_seed_same_data_other_seed_other_data():
    assert generate(SMALL) == generate(SMALL)
    other = SyntheticConfig(users=300, items=200, mean_events_per_user=30, seed=4)
    assert generate(other)[0] != generate(SMALL)[0]


def test_sizes_and_time_order_per_user():
    events, items = generate(SMALL)
    assert len(items) == 200
    assert len({e.user_id for e in events}) == 300
    assert 20 * 300 < len(events) < 40 * 300
    for user in {e.user_id for e in events}:
        times = [e.timestamp for e in events if e.user_id == user]
        assert times == sorted(times)


def test_popularity_is_long_tailed():
    events, _ = generate(SMALL)
    counts = sorted(Counter(e.item_id for e in events).values(), reverse=True)
    top_decile = sum(counts[: len(counts) // 10]) / sum(counts)
    assert top_decile > 0.3  # uniform would give about 0.1


def test_tastes_drift_between_early_and_late_events():
    events, items = generate(SMALL)
    category = {item.item_id: item.categories[0] for item in items}
    shifts = []
    for user in {e.user_id for e in events}:
        mine = [category[e.item_id] for e in events if e.user_id == user]
        half = len(mine) // 2
        early, late = Counter(mine[:half]), Counter(mine[half:])
        names = set(early) | set(late)
        shifts.append(sum(abs(early[c] / half - late[c] / (len(mine) - half)) for c in names) / 2)
    assert np.mean(shifts) > 0.3  # total-variation distance between the halves' category mixes


def test_reviews_follow_item_and_user_so_one_item_gets_different_words():
    events, items = generate(SMALL)
    by_item = {}
    for event in events:
        by_item.setdefault(event.item_id, set()).add(event.summary)
        assert event.text and event.summary
    assert max(len(s) for s in by_item.values()) >= 3
    low = [e.summary for e in events if e.rating <= 2]
    high = [e.summary for e in events if e.rating >= 4]
    assert all(s.split()[0] in ("poor", "disappointing") for s in low)
    assert all(s.split()[0] in ("solid", "great") for s in high)


def test_written_csv_reads_back_through_the_generic_adapter(tmp_path):
    out, count = write_generic_csv(SMALL, tmp_path)
    source = open_source(out)
    report = MalformedRowReport()
    assert source.format == "generic_csv"
    assert list(source.events(report)) == generate(SMALL)[0]
    assert len(list(source.items(report))) == 200
    assert report.malformed == 0 and count == report.accepted - 200
