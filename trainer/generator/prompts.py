"""One prompt builder for training and serving: ids in, prompt text out, all in TensorFlow.

A prompt starts with the outcome the text explains (``trainer/generator/outcome.py``: the
review's own in training, always ``liked`` when serving), then names the item (title, its
most specific categories, keywords of its train reviews) and the user (keywords of their own
train reviews of their most recent items, and the titles of those items):

    liked || item fender picks medium | guitar picks | about grip thin feel || user tone bright |
    recent elixir nanoweb strings ; snark tuner

The tables live in the exported model, so serving needs only ``user_id``, ``item_id`` and
the history ids; an unknown item or an empty history leaves its fields empty, which the
model learned to explain generically. Training calls the same module, passing leave-one-out
item keywords (``item_keywords``) so that no prompt holds the review it teaches, and each
review's outcome (``outcomes``).

Example::

    builder = PromptBuilder.from_tables(catalog, tables, config)
    builder(tf.constant(["u1"]), tf.constant(["i9"]), tf.constant([["i3", "i4"]]))
"""
from __future__ import annotations

import re
from typing import Dict, Optional

import tensorflow as tf

from trainer.catalog import Catalog
from trainer.generator.config import GeneratorConfig
from trainer.generator.keywords import KeywordTables
from trainer.generator.outcome import LIKED
from trainer.preprocessing import most_recent_first

KEY_SEPARATOR = "\x1f"  # joins user and item ids into one review-table key


def short_title(title: str, words: int) -> str:
    """Lower-cased first words of a title, punctuation dropped: ``"Snark SN-5 (Tuner)"`` -> ``"snark sn 5 tuner"``."""
    return " ".join(re.findall(r"\w+", title.lower())[:words])


def _table(mapping: Dict[str, str]) -> tf.lookup.StaticHashTable:
    keys = list(mapping) or [""]
    values = [mapping[key] for key in mapping] or [""]
    return tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
        tf.constant(keys, tf.string), tf.constant(values, tf.string)), default_value="")


def _join_present(values: tf.Tensor, separator: str) -> tf.Tensor:
    """Joins each row's non-empty strings: ``[["a", "", "b"]] -> ["a<sep>b"]``."""
    present = tf.ragged.boolean_mask(values, tf.strings.length(values) > 0)
    return tf.strings.reduce_join(present, axis=1, separator=separator)


class PromptBuilder(tf.Module):
    """Lookup tables for items and reviews, and ``__call__`` that writes the prompts."""

    def __init__(self, titles: Dict[str, str], categories: Dict[str, str], item_keywords: Dict[str, str],
                 review_keywords: Dict[str, str], config: GeneratorConfig):
        super().__init__()
        self.titles, self.categories = _table(titles), _table(categories)
        self.item_keywords, self.review_keywords = _table(item_keywords), _table(review_keywords)
        self._recent_titles = config.recent_titles
        self._reviewed_items = config.reviewed_history_items

    @classmethod
    def from_tables(cls, catalog: Catalog, tables: KeywordTables, config: GeneratorConfig) -> "PromptBuilder":
        ids = [item.decode("utf-8") for item in catalog.item_ids]
        titles = {item: short_title(title.decode("utf-8"), config.title_words)
                  for item, title in zip(ids, catalog.titles)}
        categories = {item: ", ".join([c.decode("utf-8").lower() for c in row if c][-config.categories:])
                      for item, row in zip(ids, catalog.categories.tolist())}
        reviews = {KEY_SEPARATOR.join(pair): words for pair, words in tables.review_keywords.items()}
        return cls(titles, categories, tables.item_keywords, reviews, config)

    def __call__(self, user_id: tf.Tensor, item_id: tf.Tensor, history_item_ids: tf.Tensor,
                 item_keywords: Optional[tf.Tensor] = None, outcomes: Optional[tf.Tensor] = None) -> tf.Tensor:
        """``user_id [b]``, ``item_id [b]``, ``history_item_ids [b, h]`` (oldest first, padded with
        ``""``) -> prompts ``[b]``; ``item_keywords [b]`` replaces the item-keyword lookup and
        ``outcomes [b]`` the ``liked`` condition."""
        history = tf.RaggedTensor.from_tensor(history_item_ids, padding="")
        recent = most_recent_first(history, max(self._recent_titles, self._reviewed_items), "")
        reviewed = recent[:, :self._reviewed_items]
        review_keys = tf.strings.join([tf.broadcast_to(user_id[:, None], tf.shape(reviewed)), reviewed],
                                      separator=KEY_SEPARATOR)
        review_words = tf.where(reviewed == "", "", self.review_keywords.lookup(review_keys))
        if item_keywords is None:
            item_keywords = self.item_keywords.lookup(item_id)
        if outcomes is None:
            outcomes = tf.fill(tf.shape(item_id), LIKED)
        return tf.strings.join([
            outcomes, " || item ", self.titles.lookup(item_id), " | ", self.categories.lookup(item_id),
            " | about ", item_keywords,
            " || user ", _join_present(review_words, " "),
            " | recent ", _join_present(self.titles.lookup(recent[:, :self._recent_titles]), " ; ")])
