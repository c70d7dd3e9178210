"""Baseline explainers (item-most-frequent, similar-user), checked against answers worked out by hand."""
import doctest
import random
from fractions import Fraction

import pytest

from recgen import explanation_baselines
from recgen.explanation_baselines import item_most_frequent_summaries, similar_user_summaries

# i1: "Nice" twice, "Bad" twice (one with spaces around it): a tie, "Nice" seen first.
# i2: only "Ok" counts; the empty, blank and missing summaries are skipped.
# i3: "Zed" three times, so "Zed" is also the most frequent summary overall.
TRAIN = [("u1", "i1", "Nice"), ("u2", "i1", "Bad"), ("u3", "i1", " Bad "), ("u4", "i1", "Nice "),
         ("u5", "i2", ""), ("u6", "i2", None), ("u7", "i2", "   "), ("u8", "i2", "Ok"),
         ("u1", "i3", "Zed"), ("u2", "i3", "Zed"), ("u3", "i3", "Zed")]


def test_module_examples_run():
    assert doctest.testmod(explanation_baselines).failed == 0


def test_item_most_frequent_breaks_ties_by_first_seen_and_skips_empty_summaries():
    queries = [("u9", "i1"), ("u9", "i2"), ("u9", "i3")]
    assert item_most_frequent_summaries(TRAIN, queries) == ["Nice", "Ok", "Zed"]


def test_item_without_training_summary_gets_the_most_frequent_overall():
    assert item_most_frequent_summaries(TRAIN, [("u1", "i9")]) == ["Zed"]
    # overall tie: "b" and "a" twice each, "b" seen first (smallest string would be "a")
    tied = [("u1", "i1", "b"), ("u2", "i2", "a"), ("u3", "i3", "a"), ("u4", "i4", "b")]
    assert item_most_frequent_summaries(tied, [("u5", "i9")]) == ["b"]


def test_no_training_summary_at_all_is_an_error():
    with pytest.raises(ValueError, match="no non-empty summary"):
        item_most_frequent_summaries([("u1", "i1", None)], [("u1", "i1")])


def test_similar_user_uses_cosine_not_jaccard():
    # history {h1, h2}
    #   ua {i1, h1, h2, x1..x4}: 2 shared of 7 -> cosine 2/sqrt(2*7) = 0.535, Jaccard 2/7 = 0.286
    #   ub {i1, h1}:             1 shared of 2 -> cosine 1/sqrt(2*2) = 0.5,   Jaccard 1/3 = 0.333
    train = [("ub", "i1", "from b"), ("ub", "h1", "-"),
             ("ua", "i1", "from a")] + [("ua", item, "-") for item in ["h1", "h2", "x1", "x2", "x3", "x4"]]
    assert similar_user_summaries(train, [("uq", "i1")], [["h1", "h2"]]) == ["from a"]


def test_similar_user_uses_cosine_not_overlap_count():
    # history {h1, h2}
    #   ua {i1, h1, h2, x1..x7}: 2 shared of 10 -> cosine 2/sqrt(2*10) = 0.447
    #   ub {i1, h1}:             1 shared of 2  -> cosine 1/sqrt(2*2)  = 0.5
    train = [("ua", "i1", "from a")] + [("ua", item, "-") for item in ["h1", "h2"] + [f"x{k}" for k in range(7)]]
    train += [("ub", "i1", "from b"), ("ub", "h1", "-")]
    assert similar_user_summaries(train, [("uq", "i1")], [["h1", "h2"]]) == ["from b"]


def test_similar_user_ties_go_to_the_first_writer_in_train_order():
    # uz and ua both {i1, h1}: equal similarity; uz's review of i1 comes first (smallest id would pick ua)
    train = [("uz", "i1", "from z"), ("ua", "h1", "-"), ("ua", "i1", "from a"), ("uz", "h1", "-")]
    assert similar_user_summaries(train, [("uq", "i1")], [["h1"]]) == ["from z"]


def test_similar_user_ties_are_exact():
    # history {h1..h4}
    #   uz {i1, h1}:                    cosine 1/sqrt(4*2)  = 1/sqrt(8)
    #   ua {i1, h1, h2, h3, 14 others}: cosine 3/sqrt(4*18) = 1/sqrt(8) too, but a hair larger in floats
    train = [("uz", "i1", "from z"), ("uz", "h1", "-"), ("ua", "i1", "from a")]
    train += [("ua", item, "-") for item in ["h1", "h2", "h3"] + [f"x{k}" for k in range(14)]]
    assert similar_user_summaries(train, [("uq", "i1")], [["h1", "h2", "h3", "h4"]]) == ["from z"]


def test_similar_user_excludes_the_query_user_and_counts_reviews_without_summary():
    # uq itself wrote i1 and shares everything with its history, but is not a candidate.
    # uc's review of h1 has no summary, yet h1 is in uc's item set: uc {i1, h1} -> 1/sqrt(1*2); ub {i1} -> 0.
    train = [("ub", "i1", "from b"), ("uq", "i1", "mine"), ("uq", "h1", "-"),
             ("uc", "i1", "from c"), ("uc", "h1", None)]
    assert similar_user_summaries(train, [("uq", "i1")], [["h1"]]) == ["from c"]


def test_similar_user_item_sets_come_from_train_interactions_when_given():
    # from the reviews alone ub {i1} and uc {i1} tie (ub first); uc's extra train event h1 makes it closest
    train = [("ub", "i1", "from b"), ("uc", "i1", "from c")]
    interactions = [("ub", "i1"), ("uc", "i1"), ("uc", "h1")]
    assert similar_user_summaries(train, [("uq", "i1")], [["h1"]]) == ["from b"]
    assert similar_user_summaries(train, [("uq", "i1")], [["h1"]], train_interactions=interactions) == ["from c"]


def test_similar_user_falls_back_to_item_most_frequent():
    # i2: only the query user u8 wrote "Ok"; i9: nobody -> overall "Zed"
    assert similar_user_summaries(TRAIN, [("u8", "i2"), ("u8", "i9")], [["i1"], ["i1"]]) == ["Ok", "Zed"]


def test_similar_user_names_the_mismatched_lengths():
    with pytest.raises(ValueError, match="queries=2, query_histories=1"):
        similar_user_summaries(TRAIN, [("u1", "i1"), ("u2", "i1")], [["i3"]])


def test_similar_user_answers_match_exact_cosines_on_random_data_with_many_ties():
    """Against the definition: Fraction cosines squared, the first writer (train order) of the best."""
    rng = random.Random(3)
    items = [f"i{n}" for n in range(12)]
    train = [(f"u{rng.randrange(40)}", rng.choice(items), rng.choice(["A", "B", "C", "", None])) for _ in range(400)]
    queries = [(f"u{rng.randrange(45)}", rng.choice(items)) for _ in range(200)]
    histories = [rng.sample(items, rng.randrange(0, 5)) for _ in queries]
    item_sets = {}
    for user, item, _ in train:
        item_sets.setdefault(user, set()).add(item)
    fallback = item_most_frequent_summaries(train, queries)

    def expected(n, user, item):
        writers = {}
        for writer, reviewed, summary in train:
            if reviewed == item and writer != user and (summary or "").strip():
                writers.setdefault(writer, summary.strip())
        if not writers:
            return fallback[n]
        query = set(histories[n])
        cosine = lambda writer: (Fraction(len(query & item_sets[writer]) ** 2, len(query) * len(item_sets[writer]))
                                 if query else Fraction(0))
        return writers[max(writers, key=cosine)]

    assert similar_user_summaries(train, queries, histories) == [expected(n, *query) for n, query in enumerate(queries)]
