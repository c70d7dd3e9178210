"""The leave-last-out split of docs/evaluation.md#protocol and the tf.Example of a target event."""
from components.example_gen.user_examples import StagedEvent, make_example, split_user_events
from recgen.contracts import features as F
from recgen.data.canonical import Item


def events(*specs):
    """specs: (item, timestamp) in source order."""
    return [StagedEvent(seq, "u", item, ts) for seq, (item, ts) in enumerate(specs)]


def splits(evs):
    return [(split, e.item_id) for split, e, _ in split_user_events(evs)]


def test_users_with_fewer_than_three_events_are_train_only():
    assert splits(events(("a", 1))) == [("train", "a")]
    assert splits(events(("a", 1), ("b", 2))) == [("train", "a"), ("train", "b")]


def test_last_event_is_test_the_one_before_eval_in_time_order():
    shuffled = events(("d", 40), ("a", 10), ("c", 30), ("b", 20), ("e", 50))
    assert splits(shuffled) == [("train", "a"), ("train", "b"), ("train", "c"), ("eval", "d"), ("test", "e")]


def test_equal_timestamps_keep_source_order():
    assert splits(events(("x", 5), ("y", 5), ("z", 5))) == [("train", "x"), ("eval", "y"), ("test", "z")]


def test_history_is_everything_before_the_target_so_test_history_is_train_plus_eval():
    evs = events(("a", 1), ("b", 2), ("c", 3), ("d", 4))
    by_split = {split: (target, history) for split, target, history in split_user_events(evs)}
    assert [e.item_id for e in by_split["test"][1]] == ["a", "b", "c"]
    assert [e.item_id for e in by_split["eval"][1]] == ["a", "b"]


def test_example_keeps_the_last_n_history_items_oldest_first_with_times():
    evs = [StagedEvent(n, "u7", f"i{n}", 100 + n, 4.0, "nice text", None) for n in range(6)]
    target, history = evs[-1], evs[:-1]
    feature = make_example(target, history, history_length=3).features.feature
    assert feature[F.USER_ID].bytes_list.value == [b"u7"]
    assert feature[F.ITEM_ID].bytes_list.value == [b"i5"]
    assert feature[F.TIMESTAMP].int64_list.value == [105]
    assert feature[F.HISTORY_ITEM_IDS].bytes_list.value == [b"i2", b"i3", b"i4"]
    assert feature[F.HISTORY_TIMESTAMPS].int64_list.value == [102, 103, 104]
    assert feature[F.HISTORY_LENGTH].int64_list.value == [5]
    assert feature[F.RATING].float_list.value == [4.0]
    assert feature[F.TEXT].bytes_list.value == [b"nice text"]
    assert F.SUMMARY not in feature


def test_first_event_has_an_empty_history():
    target = StagedEvent(0, "u", "a", 1)
    feature = make_example(target, [], history_length=50).features.feature
    assert list(feature[F.HISTORY_ITEM_IDS].bytes_list.value) == []
    assert feature[F.HISTORY_LENGTH].int64_list.value == [0]


def test_example_carries_the_target_items_content_and_eval_test_carry_the_full_seen_set():
    evs = events(("a", 1), ("b", 2), ("a", 3), ("c", 4))
    item = Item("c", "Cello Suite", ("Classical", "Strings"), "six suites")
    train = make_example(evs[1], evs[:1], history_length=1, item=Item("b")).features.feature
    test = make_example(evs[3], evs[:3], history_length=1, item=item, split=F.TEST).features.feature
    assert test[F.ITEM_TITLE].bytes_list.value == [b"Cello Suite"]
    assert test[F.ITEM_CATEGORIES].bytes_list.value == [b"Classical", b"Strings"]
    assert test[F.ITEM_DESCRIPTION].bytes_list.value == [b"six suites"]
    assert test[F.HISTORY_ITEM_IDS].bytes_list.value == [b"a"]  # truncated to the last 1
    assert test[F.SEEN_ITEM_IDS].bytes_list.value == [b"a", b"b"]  # not truncated, each once
    assert train[F.ITEM_TITLE].bytes_list.value == [b""]
    assert F.SEEN_ITEM_IDS not in train
