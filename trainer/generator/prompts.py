"""One prompt builder for training and serving: ids in, prompt text out, all in TensorFlow.

A prompt starts with the outcome the text explains (``trainer/generator/outcome.py``: the
review's own in training, always ``liked`` when serving), then names the item (title, its
most specific categories, keywords of its train reviews) and the user (keywords of their own
train reviews of their most recent items, and the titles of those items):

    liked || item fender picks medium | guitar picks | about grip thin feel || user tone bright |
    recent elixir nanoweb strings ; snark tuner

The tables live in the exported model as asset files (written to ``prompt_tables/`` beside
the SavedModel while training, copied into its ``assets/`` when saved), so serving needs only
``user_id``, ``item_id`` and the history ids; an unknown item or an empty history leaves its
fields empty, which the model learned to explain generically. Training calls the same module,
passing leave-one-out item keywords (``item_keywords``) so that no prompt holds the review it
teaches, and each review's outcome (``outcomes``).

Example::

    builder = PromptBuilder.from_tables(catalog, tables, config, "/tmp/model/prompt_tables")
    builder(tf.constant(["u1"]), tf.constant(["i9"]), tf.constant([["i3", "i4"]]))
"""
from __future__ import annotations

import base64
import os
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


def _base64(text: str) -> str:
    """Web-safe base64 without padding, as ``tf.io.encode_base64`` writes it."""
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


class TextTable(tf.Module):
    """A string-to-string table read from a file it writes, which a SavedModel carries as an asset.

    A table of constants would sit in the graph: the 1M-event run's generator graph was 38 MB,
    Grappler spent 11 s of its load on the init op, and a GraphDef cannot pass 2 GB. The file
    has one ``key<TAB>value`` line per entry, both base64 (``TextFileInitializer`` splits on tabs
    and newlines, which ids and titles may hold); absent keys give ``""``.

    Example::

        table = TextTable({"i9": "warm tone"}, "/tmp/model/prompt_tables/item_keywords.tsv")
        table.lookup(tf.constant(["i9", "i0"]))  # -> [b"warm tone", b""]
    """

    def __init__(self, mapping: Dict[str, str], path: str):
        super().__init__()
        with tf.io.gfile.GFile(path, "w") as stream:  # an empty file does not initialize: one empty entry
            stream.write("".join(f"{_base64(key)}\t{_base64(value)}\n" for key, value in (mapping or {"": ""}).items()))
        self.table = tf.lookup.StaticHashTable(tf.lookup.TextFileInitializer(
            path, tf.string, 0, tf.string, 1, delimiter="\t"), default_value="")

    def lookup(self, keys: tf.Tensor) -> tf.Tensor:
        return tf.io.decode_base64(self.table.lookup(tf.io.encode_base64(keys)))


def _join_present(values: tf.Tensor, separator: str) -> tf.Tensor:
    """Joins each row's non-empty strings: ``[["a", "", "b"]] -> ["a<sep>b"]``."""
    present = tf.ragged.boolean_mask(values, tf.strings.length(values) > 0)
    return tf.strings.reduce_join(present, axis=1, separator=separator)


class PromptBuilder(tf.Module):
    """Lookup tables for items and reviews, and ``__call__`` that writes the prompts."""

    def __init__(self, titles: Dict[str, str], categories: Dict[str, str], item_keywords: Dict[str, str],
                 review_keywords: Dict[str, str], config: GeneratorConfig, table_dir: str):
        """Writes the tables' files into ``table_dir`` (made if absent)."""
        super().__init__()
        tf.io.gfile.makedirs(table_dir)
        self.titles, self.categories, self.item_keywords, self.review_keywords = [
            TextTable(mapping, os.path.join(table_dir, f"{name}.tsv")) for name, mapping in [
                ("titles", titles), ("categories", categories), ("item_keywords", item_keywords),
                ("review_keywords", review_keywords)]]
        self._recent_titles = config.recent_titles
        self._reviewed_items = config.reviewed_history_items

    @classmethod
    def from_tables(cls, catalog: Catalog, tables: KeywordTables, config: GeneratorConfig,
                    table_dir: str) -> "PromptBuilder":
        ids = [item.decode("utf-8") for item in catalog.item_ids]
        titles = {item: short_title(title.decode("utf-8"), config.title_words)
                  for item, title in zip(ids, catalog.titles)}
        categories = {item: ", ".join([c.decode("utf-8").lower() for c in row if c][-config.categories:])
                      for item, row in zip(ids, catalog.categories.tolist())}
        reviews = {KEY_SEPARATOR.join(pair): words for pair, words in tables.review_keywords.items()}
        return cls(titles, categories, tables.item_keywords, reviews, config, table_dir)

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
