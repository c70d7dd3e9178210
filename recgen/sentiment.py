"""Sentiment of short texts with VADER (``vaderSentiment``: a rule-based model whose lexicon ships
with the package, so it runs offline and gives the same answer everywhere).

Used for three things: a review without a rating gets its outcome from its text
(``trainer/generator/outcome.py``); the "negative share" of explanations in the metrics
(docs/evaluation.md#metrics); and the words the generator may not write when it explains a
recommendation (``negative_words``, read by ``trainer/generator/decoding.py``).

Example:
    >>> is_negative("disappointing clean interface for home recording")
    True
    >>> is_negative("great tuner for the price")
    False
    >>> negative_share(["great tuner", "not great", "sturdy stand"])
    0.3333333333333333
"""
from __future__ import annotations

import functools
from typing import FrozenSet, Sequence

from vaderSentiment.vaderSentiment import NEGATE, SentimentIntensityAnalyzer

# VADER's own cut: a compound score at or below -0.05 is negative.
NEGATIVE_AT_OR_BELOW = -0.05


@functools.lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def compound(text: str) -> float:
    """VADER's compound score of ``text``, in [-1, 1].

    >>> compound("") == 0.0
    True
    """
    return float(_analyzer().polarity_scores(text)["compound"])


def is_negative(text: str) -> bool:
    """Whether VADER classifies ``text`` as negative (compound <= -0.05)."""
    return compound(text) <= NEGATIVE_AT_OR_BELOW


def negative_share(texts: Sequence[str]) -> float:
    """The share of ``texts`` classified negative (0.0 for none)."""
    return sum(is_negative(text) for text in texts) / len(texts) if texts else 0.0


@functools.lru_cache(maxsize=1)
def negative_words() -> FrozenSet[str]:
    """Lower-case words that make a text argue against its item: VADER's negative lexicon words,
    its negations, and the stems tokenizers split negated verbs into (``"doesn"`` of ``"doesn't"``).
    ``"can"`` (of ``"can't"``) stays allowed: it is mostly positive ("can hear every note").

    >>> {"disappointing", "not", "doesn"} <= negative_words(), "can" in negative_words()
    (True, False)
    """
    lexicon = {word for word, valence in _analyzer().lexicon.items() if valence < 0 and word.isalpha()}
    negations = {word for word in NEGATE if word.isalpha()}
    stems = {word.split("'")[0] for word in NEGATE if word.endswith("n't")}
    return frozenset((lexicon | negations | stems) - {"can"})
