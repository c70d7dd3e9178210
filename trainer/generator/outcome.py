"""The outcome an explanation is conditioned on: did the user like the item?

The generator learns from reviews, bad ones included. Each training prompt starts with the
outcome its reference text reports, so the model learns what a liked item's text looks like
apart from a disliked one's; serving and evaluation always ask for ``LIKED``, because an
explanation is a reason to try the item.

* a star rating decides: >= 4 liked, <= 2 disliked, 3 mixed;
* without one (rating 0, e.g. data with only texts), VADER's sentiment of the review's summary
  and text decides (``recgen/sentiment.py``): positive liked, negative disliked, else mixed.

Example:
    >>> outcome_of(5.0, ""), outcome_of(1.0, "great"), outcome_of(3.0, "")
    ('liked', 'disliked', 'mixed')
    >>> outcome_of(0.0, "Stopped working after a week"), outcome_of(0.0, "Love this tuner")
    ('disliked', 'liked')
"""
from __future__ import annotations

from recgen.sentiment import NEGATIVE_AT_OR_BELOW, compound

LIKED, DISLIKED, MIXED = "liked", "disliked", "mixed"
POSITIVE_AT_OR_ABOVE = 0.05  # VADER's cut for positive


def outcome_of(rating: float, text: str) -> str:
    """The outcome of one review: its rating (1-5) when it has one, else its text's sentiment."""
    if rating > 0:
        return LIKED if rating >= 4 else DISLIKED if rating <= 2 else MIXED
    score = compound(text)
    return LIKED if score >= POSITIVE_AT_OR_ABOVE else DISLIKED if score <= NEGATIVE_AT_OR_BELOW else MIXED
