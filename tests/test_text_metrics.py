"""Text-quality metrics of docs/evaluation.md#metrics, checked against answers computed by hand."""
import doctest
import math

import pytest

from recgen import text_metrics
from recgen.text_metrics import (corpus_bleu, distinct_n, feature_matching_ratio, personalization, rouge_scores, text_quality, tokenize,
                                 unique_sentence_ratio)

# Two pairs; tokens and counts worked out below.
#   hyp 1 "the cat sat on the mat"     (6 tokens)  ref 1 "the cat sat on a red mat" (7 tokens)
#   hyp 2 "a dog"                      (2 tokens)  ref 2 "a dog barked"             (3 tokens)
# clipped matches / hypothesis n-grams, pooled over both pairs:
#   n=1: pair 1 the(1, clipped from 2) cat sat on mat = 5/6, pair 2 a dog = 2/2  -> 7/8
#   n=2: pair 1 "the cat" "cat sat" "sat on" = 3/5,      pair 2 "a dog" = 1/1   -> 4/6
#   n=3: pair 1 "the cat sat" "cat sat on" = 2/4,        pair 2 none of 0       -> 2/4
#   n=4: pair 1 "the cat sat on" = 1/3                                          -> 1/3
# lengths: hypotheses 8, references 10, so BP = exp(1 - 10/8) = exp(-0.25)
HYPOTHESES = ["The cat sat on the mat", "a dog"]
REFERENCES = ["the cat sat on a red mat", "A dog barked"]


def test_module_examples_run():
    assert doctest.testmod(text_metrics).failed == 0


def test_tokenize_lower_cases_and_splits_off_each_punctuation_mark():
    assert tokenize("It's LOUD, really!!") == ["it", "'", "s", "loud", ",", "really", "!", "!"]
    assert tokenize("  ") == []


def test_corpus_bleu_pools_counts_over_pairs_with_brevity_penalty():
    assert math.isclose(corpus_bleu(HYPOTHESES, REFERENCES, max_n=1), 100 * 7 / 8 * math.exp(-0.25))
    expected_bleu4 = 100 * math.exp(-0.25) * (7 / 8 * 4 / 6 * 2 / 4 * 1 / 3) ** 0.25  # about 43.49
    assert math.isclose(corpus_bleu(HYPOTHESES, REFERENCES, max_n=4), expected_bleu4)


def test_corpus_bleu_clips_repeats_and_has_no_penalty_for_longer_hypotheses():
    # "the" counted at most once (it occurs once in the reference): 1/3; 3 tokens > 2, so BP = 1
    assert math.isclose(corpus_bleu(["the the the"], ["the cat"], max_n=1), 100 / 3)


def test_corpus_bleu_without_smoothing_is_zero_on_any_zero_precision():
    assert corpus_bleu(["x y"], ["a b"], max_n=1) == 0.0
    assert corpus_bleu(["a b c"], ["a b c d"], max_n=4) == 0.0  # no hypothesis 4-gram at all
    assert corpus_bleu([""], ["a"], max_n=1) == 0.0


def test_rouge_is_f1_per_pair_averaged_with_rouge_l_on_the_lcs():
    # pair 1: hyp a b c d (4), ref a c b d e (5)
    #   ROUGE-1 overlap 4 -> 2*4/9 = 8/9; no shared bigram -> 0; LCS "a b d" = 3 -> 2*3/9 = 2/3
    # pair 2: hyp x (1), ref x y (2)
    #   ROUGE-1 overlap 1 -> 2*1/3 = 2/3; the hypothesis has no bigram -> 0; LCS 1 -> 2/3
    scores = rouge_scores(["a b c d", "x"], ["a c b d e", "x y"])
    assert math.isclose(scores["rouge-1"], 100 * (8 / 9 + 2 / 3) / 2)
    assert scores["rouge-2"] == 0.0
    assert math.isclose(scores["rouge-l"], 100 * 2 / 3)


def test_rouge_2_clips_repeated_bigrams():
    # hyp bigrams ab, ba, ab (3); ref ab, bc (2); "a b" matched once -> 2*1/(3+2) = 0.4
    assert math.isclose(rouge_scores(["a b a b"], ["a b c"])["rouge-2"], 40.0)


def test_rouge_is_zero_when_a_side_is_empty():
    assert rouge_scores([""], ["a b"]) == {"rouge-1": 0.0, "rouge-2": 0.0, "rouge-l": 0.0}


def test_distinct_n_pools_over_all_texts():
    # unigrams a b a b a b: 2 distinct of 6 (per-text averaging would give (2/4 + 2/2) / 2)
    assert math.isclose(distinct_n(["a b a b", "a b"], 1), 1 / 3)
    # bigrams ab ba ab | ab: 2 distinct of 4
    assert distinct_n(["a b a b", "a b"], 2) == 0.5
    assert distinct_n(["a", "b"], 2) == 0.0


def test_usr_counts_texts_with_the_same_tokens_as_one_sentence():
    # "Great strings" and "great  strings" are one sentence, "Great strings!" another, "Meh" a third
    assert unique_sentence_ratio(["Great strings", "great  strings", "Great strings!", "Meh"]) == 0.75
    assert unique_sentence_ratio([]) == 0.0


def test_personalization_pools_pairs_and_counts_a_repeated_user_once():
    users = ["u1", "u2", "u3", "u1", "u4", "u6", "u7"]
    items = ["i1", "i1", "i1", "i1", "i2", "i4", "i4"]
    texts = ["good", "good", "bad", "other", "x", "p", "q"]
    # i1: u1 keeps their first text "good"; pairs (u1,u2) same, (u1,u3) and (u2,u3) differ: 2 of 3
    # i2: one user, skipped; i4: (u6,u7) differ: 1 of 1
    # pooled (2 + 1) / (3 + 1) = 3/4 (a mean over items would give 5/6; counting u1 twice, 6/7)
    assert personalization(users, items, texts) == 0.75


def test_personalization_is_zero_without_an_item_explained_to_two_users():
    assert personalization(["u1", "u2", "u1"], ["i1", "i2", "i1"], ["a", "b", "c"]) == 0.0


def test_text_quality_reports_every_metric():
    scores = text_quality(["u1", "u2"], ["i1", "i1"], HYPOTHESES, REFERENCES)
    assert set(scores) == {"bleu-1", "bleu-4", "rouge-1", "rouge-2", "rouge-l", "distinct-1", "distinct-2",
                           "usr", "personalization", "fmr", "negative-share", "pairs"}
    assert math.isclose(scores["bleu-1"], 100 * 7 / 8 * math.exp(-0.25))
    assert scores["distinct-1"] == 7 / 8  # 8 hypothesis tokens, "the" twice
    assert scores["usr"] == 1.0 and scores["personalization"] == 1.0 and scores["pairs"] == 2
    assert math.isnan(scores["fmr"])  # no item features given


def test_fmr_counts_texts_that_name_one_of_their_items_features():
    features = {"i1": ["Warm", "tube"], "i2": ["bright"]}
    texts = ["warm and loud", "great amp", "tubes galore", "bright, crisp"]   # "tubes" is not "tube"
    assert feature_matching_ratio(["i1", "i1", "i1", "i2"], texts, features) == 0.5
    assert feature_matching_ratio(["i3"], ["warm"], features) == 0.0          # no features: not matched
    scores = text_quality(["u1", "u2"], ["i1", "i2"], ["warm tone", "bright"], ["a", "b"], features)
    assert scores["fmr"] == 1.0


def test_negative_share_is_the_share_of_texts_vader_calls_negative():
    scores = text_quality(["u1", "u2", "u3", "u4"], ["i1"] * 4,
                          ["great tuner", "disappointing stand", "not worth it", "sturdy stand"], ["x"] * 4)
    assert scores["negative-share"] == 0.5


def test_text_quality_names_the_mismatched_lengths():
    with pytest.raises(ValueError, match="item_ids=1.*hypotheses=2"):
        text_quality(["u1", "u2"], ["i1"], ["a", "b"], ["a", "b"])
    with pytest.raises(ValueError, match="references=1"):
        corpus_bleu(["a", "b"], ["a"], max_n=1)


def test_corpus_bleu_agrees_with_nltk():
    # nltk adds 1 to the pooled denominator for a hypothesis with no n-gram of some order
    # (max(1, count)); every hypothesis here has 4-grams, so both readings coincide.
    bleu_score = pytest.importorskip("nltk.translate.bleu_score")
    hypotheses = ["The cat sat on the mat", "a dog barked at the postman", "so so so so"]
    references = ["the cat sat on a red mat", "the dog barked at a postman today", "so good"]
    tokenized_references = [[tokenize(reference)] for reference in references]
    tokenized_hypotheses = [tokenize(hypothesis) for hypothesis in hypotheses]
    for max_n in (1, 2, 4):
        theirs = bleu_score.corpus_bleu(tokenized_references, tokenized_hypotheses, weights=[1 / max_n] * max_n)
        assert theirs > 0
        assert math.isclose(corpus_bleu(hypotheses, references, max_n), 100 * theirs)
