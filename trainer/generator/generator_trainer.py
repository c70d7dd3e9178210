"""The TFX Trainer ``run_fn`` of the explanation generator.

``fn_args`` comes from ``components.catalog_trainer``: ``train_files`` / ``eval_files`` are
ExampleGen's raw examples, ``transform_output`` the generator Transform (review tf-idf),
``custom_config`` carries ``generator`` (a ``GeneratorConfig`` JSON) and ``item_catalog_uri``.

Steps: keyword tables from train reviews -> prompts (leave-one-out item keywords for train;
each starting with its review's outcome, ``outcome.py``) -> WordPiece vocabulary on the train
corpus (or a preset's tokenizer) -> causal LM trained with early stopping on eval loss (a
preset's: fully, or LoRA factors alone with ``lora_rank``; in ``dtype_policy``) -> ``Preset/``
(keras-hub preset a later run can start from; LoRA merged), ``Format-Serving/`` (the
``generate`` SavedModel, op checked), ``item_keywords.json`` (each item's feature words, which
the Evaluator's FMR reads) and
``training_history.json``.
"""
from __future__ import annotations

import json
import logging
import os
import time
from typing import List, Optional, Tuple

import keras
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft

from recgen.contracts import features as F
from recgen.contracts.examples_io import dense_example_batches
from recgen.contracts.serving_ops import check_servable
from trainer.catalog import ITEM_CATALOG_URI, read_catalog
from trainer.data import matching_files
from trainer.evaluation_slices import EvaluationSlices, training_event_counts
from trainer.generator.config import GeneratorConfig
from trainer.generator.export import export_generator
from trainer.generator.keywords import KeywordTables, read_keyword_tables, write_item_keywords
from trainer.generator.model import build_causal_lm, pretrained_causal_lm, save_tuned, training_batch
from trainer.generator.outcome import outcome_of
from trainer.generator.prompts import PromptBuilder
from trainer.generator.tokenizer import learn_tokenizer

logger = logging.getLogger(__name__)

HISTORY_FILE = "training_history.json"
PRESET_DIR = "Preset"
PROMPT_TABLES_DIR = "prompt_tables"  # the prompt tables' files; the SavedModel copies them into its assets/


def explanation_pairs(files: List[str], builder: PromptBuilder, tables: Optional[KeywordTables],
                      batch_size: int = 1024) -> Tuple[np.ndarray, np.ndarray]:
    """``(prompts, references)`` for the examples with a reference text, each prompt conditioned on
    its review's outcome. With ``tables`` (train), item keywords leave the example's own review out."""
    prompts, references = [], []
    for batch in dense_example_batches(files, batch_size):
        item_keywords = None
        if tables is not None:
            item_keywords = tf.constant([tables.item_keywords_without(user.decode(), item.decode())
                                         for user, item in zip(batch[F.USER_ID].numpy(), batch[F.ITEM_ID].numpy())],
                                        tf.string)
        outcomes = tf.constant([outcome_of(float(rating), f"{summary.decode()} {text.decode()}") for rating, summary, text
                                in zip(batch[F.RATING].numpy(), batch[F.SUMMARY].numpy(), batch[F.TEXT].numpy())])
        batch_prompts = builder(batch[F.USER_ID], batch[F.ITEM_ID], batch[F.HISTORY_ITEM_IDS], item_keywords,
                                outcomes).numpy()
        for prompt, reference in zip(batch_prompts, batch[F.SUMMARY].numpy()):
            if reference.strip():
                prompts.append(prompt)
                references.append(reference.strip())
    return np.array(prompts, dtype=object), np.array(references, dtype=object)


def sequence_dataset(pairs, tokenizer, config: GeneratorConfig, shuffle: bool) -> tf.data.Dataset:
    dataset = tf.data.Dataset.from_tensor_slices(tuple(tf.constant(list(column), tf.string) for column in pairs))
    if shuffle:
        dataset = dataset.shuffle(len(pairs[0]), seed=config.seed, reshuffle_each_iteration=True)
    return (dataset.batch(config.batch_size)
            .map(lambda p, r: training_batch(tokenizer, p, r, config), num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(tf.data.AUTOTUNE))


def start_model(config: GeneratorConfig, corpus: np.ndarray):
    """``(causal_lm, tokenizer)``: from ``config.preset`` when set (``pretrained_causal_lm``),
    otherwise new, with a WordPiece vocabulary learned on ``corpus`` (train-split prompts and
    references)."""
    if config.preset:
        logger.info(f"GeneratorTrainer: starting from preset {config.preset} ({config.dtype_policy}, "
                    + (f"LoRA rank {config.lora_rank})" if config.lora_rank else "every weight trains)"))
        return pretrained_causal_lm(config)
    tokenizer = learn_tokenizer([text.decode("utf-8") for text in corpus], config.vocabulary_size)
    return build_causal_lm(config, tokenizer), tokenizer


class _EpochProgress(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        logger.info(f"GeneratorTrainer: epoch {epoch + 1}: loss {logs['loss']:.4f}, eval loss {logs['val_loss']:.4f} "
                    f"({time.monotonic() - self._started:.0f} s)")


def train(causal_lm, tokenizer, train_pairs, eval_pairs, config: GeneratorConfig) -> dict:
    """Fits with AdamW; stops when eval loss has not improved for ``early_stopping_patience`` epochs
    and keeps the best epoch's weights. Returns the per-epoch history."""
    causal_lm.compile(optimizer=keras.optimizers.AdamW(config.learning_rate, weight_decay=config.weight_decay),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      weighted_metrics=[])
    steps = None
    if config.max_steps:
        steps = max(1, min(config.max_steps, -(-len(train_pairs[0]) // config.batch_size)))
    history = causal_lm.fit(
        sequence_dataset(train_pairs, tokenizer, config, shuffle=True), steps_per_epoch=steps,
        validation_data=sequence_dataset(eval_pairs, tokenizer, config, shuffle=False),
        epochs=1 if config.max_steps else config.max_epochs, verbose=0,
        callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.early_stopping_patience,
                                                 restore_best_weights=True),
                   _EpochProgress()])
    return {key: [float(v) for v in values] for key, values in history.history.items()}


def run_fn(fn_args) -> None:
    """Called by TFX's GenericExecutor."""
    config = GeneratorConfig.from_json((fn_args.custom_config or {}).get("generator"))
    if fn_args.train_steps:  # a step budget (smoke tests, degraded runs) replaces the epochs
        config = config.replace(max_steps=fn_args.train_steps)
    keras.utils.set_random_seed(config.seed)
    tft_output = tft.TFTransformOutput(fn_args.transform_output)
    train_files, eval_files = matching_files(fn_args.train_files), matching_files(fn_args.eval_files)
    tables = read_keyword_tables(train_files, tft_output, config)
    catalog = read_catalog(fn_args.custom_config[ITEM_CATALOG_URI])
    model_dir = os.path.dirname(fn_args.serving_model_dir)
    builder = PromptBuilder.from_tables(catalog, tables, config, os.path.join(model_dir, PROMPT_TABLES_DIR))
    train_pairs = explanation_pairs(train_files, builder, tables)
    eval_pairs = explanation_pairs(eval_files, builder, None)
    if not len(train_pairs[0]) or not len(eval_pairs[0]):
        raise ValueError(f"the generator needs reference texts (summary; MovieLens: tags) in train and eval: "
                         f"{len(train_pairs[0])} train and {len(eval_pairs[0])} eval examples have one; "
                         "run the pipeline with --no-explanations for data without them")
    logger.info(f"GeneratorTrainer: {len(train_pairs[0]):,} train and {len(eval_pairs[0]):,} eval explanations, "
                f"{len(tables.item_scores):,} items with review keywords")
    causal_lm, tokenizer = start_model(config, np.concatenate(train_pairs))
    history = train(causal_lm, tokenizer, train_pairs, eval_pairs, config)
    slices = EvaluationSlices.from_training_events(catalog.item_ids,
                                                   training_event_counts(train_files, catalog.item_ids))
    causal_lm = save_tuned(causal_lm, tokenizer, config, os.path.join(model_dir, PRESET_DIR))
    export_generator(causal_lm, tokenizer, builder, config, slices, fn_args.serving_model_dir)
    check_servable(fn_args.serving_model_dir)
    write_item_keywords(tables, model_dir)
    with tf.io.gfile.GFile(os.path.join(model_dir, HISTORY_FILE), "w") as stream:
        json.dump({"config": json.loads(config.to_json()), "history": history}, stream, indent=2)
