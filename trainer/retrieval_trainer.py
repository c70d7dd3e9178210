"""The TFX Trainer ``run_fn`` of the two-tower retrieval model.

``fn_args.custom_config`` carries ``retrieval`` (a ``RetrievalConfig`` as JSON),
``item_catalog_uri`` and ``text_encoder_uri`` (added by ``components.retrieval_trainer``).
The Model artifact gets ``Format-Serving/`` (the SavedModel the Pusher ships),
``warm_start/`` (weights and vocabularies the next run starts from) and
``training_history.json`` (loss and eval metrics per epoch).
"""
from __future__ import annotations

import json
import logging
import os

import numpy as np
import tensorflow as tf
import tensorflow_hub as hub
import tensorflow_transform as tft

from recgen.contracts.serving_ops import check_servable
from trainer import preprocessing as P
from trainer import warm_start
from trainer.catalog import ITEM_CATALOG_URI, read_catalog, transformed_item_features
from trainer.config import RetrievalConfig
from trainer.data import load_eval_queries, training_dataset
from trainer.distribution import training_strategy
from trainer.ensemble import Ensemble
from trainer.export import export_serving_model
from trainer.retrieval_model import RetrievalModel, VocabularySizes
from trainer.whole_catalog import EarlyStoppingOnHitRate, WholeCatalogEvaluator, embed

logger = logging.getLogger(__name__)

TEXT_ENCODER_URI = "text_encoder_uri"
HISTORY_FILE = "training_history.json"


def vocabulary_sizes(tft_output) -> VocabularySizes:
    return VocabularySizes(*(tft_output.vocabulary_size_by_name(name) for name in
                             (P.USER_VOCAB, P.ITEM_VOCAB, P.CATEGORY_VOCAB, P.TITLE_VOCAB)))


def item_probability(tft_output, num_items: int) -> np.ndarray:
    """Each item index's share of training events; the OOV bucket gets the rarest item's share."""
    index = {item: n for n, item in enumerate(tft_output.vocabulary_by_name(P.ITEM_VOCAB))}
    counts = np.zeros(num_items + 1)
    path = tft_output.vocabulary_file_by_name(P.ITEM_COUNTS_VOCAB)
    with tf.io.gfile.GFile(path, "rb") as stream:
        for line in stream:
            count, item = line.rstrip(b"\n").split(b" ", 1)
            counts[index[item]] = float(count)
    counts[num_items] = counts[:num_items].min() if num_items else 1.0
    return counts / counts.sum()


def text_encoder_layer(config: RetrievalConfig, custom_config: dict) -> hub.KerasLayer:
    handle = config.text_encoder_handle or custom_config.get(TEXT_ENCODER_URI)
    if not handle:
        raise ValueError("no text encoder: set RetrievalConfig.text_encoder_handle or wire TextEncoderGen")
    return hub.KerasLayer(handle, trainable=config.text_encoder_trainable, name="text_encoder")


class _Training:
    """What both training phases share: config, vocabularies, catalog features, base model."""

    def __init__(self, fn_args):
        self.fn_args = fn_args
        self.custom_config = fn_args.custom_config or {}
        self.config = RetrievalConfig.from_json(self.custom_config.get("retrieval"))
        # Seeded before any dataset exists: tf.data's shuffle seed pairs with the global seed,
        # which is otherwise whatever an earlier component of the same process left.
        tf.keras.utils.set_random_seed(self.config.seed)
        self.tft_output = tft.TFTransformOutput(fn_args.transform_output)
        self.sizes = vocabulary_sizes(self.tft_output)
        self.catalog = read_catalog(self.custom_config[ITEM_CATALOG_URI])
        self.catalog_features = transformed_item_features(self.tft_output.transform_features_layer(),
                                                          self.catalog)
        self.item_probability = item_probability(self.tft_output, self.sizes.items)
        steps = fn_args.train_steps or self.config.max_steps  # a step budget spreads over the epochs
        self.steps_per_epoch = max(1, int(np.ceil(steps / self.config.max_epochs))) if steps else None
        self.epochs = int(np.ceil(steps / self.steps_per_epoch)) if steps else self.config.max_epochs
        self.strategy = training_strategy(self.config.distribute)  # one for every member and refit

    def new_model(self, train: tf.data.Dataset, member: int) -> RetrievalModel:
        """A fresh model seeded for ensemble member ``member``, warm-started from the same member
        of the base model when there is one (and ``config.warm_start`` allows it)."""
        tf.keras.utils.set_random_seed(self.config.seed + member)
        # Loaded outside the strategy: a SavedModel restored inside a MirroredStrategy scope can be
        # called in a replica only, and the whole-catalog eval and the export call it outside.
        text_encoder = text_encoder_layer(self.config, self.custom_config)
        with self.strategy.scope():
            model = RetrievalModel(self.config, self.sizes, text_encoder, self.item_probability,
                                   self.catalog_features, self.catalog.item_ids)
            model.compile(optimizer=tf.keras.optimizers.AdamW(self.config.learning_rate,
                                                              weight_decay=self.config.weight_decay))
            # Builds every variable, so warm start can fill them; in a replica, as fit calls the model.
            self.strategy.run(model.compute_loss, args=(next(iter(train)),))
        if self.fn_args.base_model and self.config.warm_start:
            warm_start.restore(model, self.fn_args.base_model, self.tft_output, member)
        return model

    def fit(self, model, train: tf.data.Dataset, epochs: int, callbacks=()) -> None:
        if self.steps_per_epoch:
            train = train.repeat()
        model.fit(train, epochs=epochs, steps_per_epoch=self.steps_per_epoch, callbacks=list(callbacks),
                  verbose=0)


def _select_epochs(run: _Training, train: tf.data.Dataset, evaluator: WholeCatalogEvaluator, member: int):
    """One member trained with early stopping on eval; returns the model and its callback."""
    config = run.config
    if config.ensemble_size > 1:
        logger.info(f"Trainer: ensemble member {member + 1}/{config.ensemble_size} (seed {config.seed + member})")
    model = run.new_model(train, member)
    stopping = EarlyStoppingOnHitRate(evaluator, config.early_stopping_patience)
    run.fit(model, train, run.epochs, [stopping])
    logger.info(f"Trainer: best eval HR@{config.eval_k} {stopping.best_metrics.get(f'hr@{config.eval_k}', 0):.4f} "
                f"at epoch {stopping.best_epoch}")
    return model, stopping


def run_fn(fn_args) -> None:
    """Selects the epoch count on eval (early stopping), then refits on train + eval and exports.

    The refit mirrors how the baselines are scored: hyperparameters chosen on eval,
    then the test split ranked by a model that has also learned from eval events
    (the test target's history includes them). The test split is never trained on.

    The warm-start weights the next run starts from are the early-stopped model's, saved
    before the refit: a next run warm-started from weights that had seen the eval events
    would select its epochs on events it already fitted.

    With ``ensemble_size`` > 1 each member goes through both phases with its own seed, and
    the export serves their sum (``trainer/ensemble.py``); the ensemble's eval figures are
    those of the early-stopped members, before any refit.
    """
    tf.get_logger().setLevel("ERROR")  # Keras warns that towers taking a config have no get_config
    run = _Training(fn_args)
    config = run.config
    logger.info(f"Trainer: {run.sizes.users:,} users, {run.sizes.items:,} items, {run.sizes.categories:,} "
                f"categories, {run.sizes.title_tokens:,} title tokens in the train vocabularies")
    evaluator = WholeCatalogEvaluator(run.catalog, run.catalog_features,
                                      load_eval_queries(fn_args.eval_files, run.tft_output), config.eval_k)
    train = training_dataset(fn_args.train_files, run.tft_output, config)
    model_dir = os.path.dirname(fn_args.serving_model_dir)
    members, stopped = [], []
    for member in range(config.ensemble_size):
        model, stopping = _select_epochs(run, train, evaluator, member)
        warm_start.save(model, run.tft_output, warm_start.member_directory(model_dir, member))
        members.append(model)
        stopped.append(stopping)
    ensemble_eval = evaluator.evaluate(Ensemble(members)) if len(members) > 1 else stopped[0].best_metrics
    if len(members) > 1:
        logger.info(f"Trainer: ensemble of {len(members)}, "
                    f"eval HR@{config.eval_k} {ensemble_eval[f'hr@{config.eval_k}']:.4f}")
    if config.refit_on_eval:
        train_and_eval = training_dataset(list(fn_args.train_files) + list(fn_args.eval_files),
                                          run.tft_output, config)
        for member, stopping in enumerate(stopped):
            if stopping.best_epoch > 0:
                logger.info(f"Trainer: refitting{f' member {member + 1}' if len(members) > 1 else ''} on train + eval "
                            f"events for {stopping.best_epoch} epochs")
                members[member] = run.new_model(train_and_eval, member)
                run.fit(members[member], train_and_eval, stopping.best_epoch)

    served = members[0] if len(members) == 1 else Ensemble(members)
    candidate_embeddings = embed(served.candidate_tower, run.catalog_features)
    catalog_index = run.catalog_features[P.ITEM_INDEX]
    training_share = np.where(catalog_index < run.sizes.items, run.item_probability[catalog_index], 0.0)
    export_serving_model(served, run.tft_output, run.catalog, candidate_embeddings, config,
                         fn_args.serving_model_dir, training_share)
    check_servable(fn_args.serving_model_dir)  # fail here, not in TF Serving, on an op it lacks
    with tf.io.gfile.GFile(os.path.join(model_dir, HISTORY_FILE), "w") as stream:
        json.dump({"config": json.loads(config.to_json()), "best_epoch": stopped[0].best_epoch,
                   "best_eval": ensemble_eval, "refit_on_eval": config.refit_on_eval,
                   "epochs": stopped[0].history,
                   "members": [{"seed": config.seed + n, "best_epoch": s.best_epoch, "best_eval": s.best_metrics,
                                "epochs": s.history} for n, s in enumerate(stopped)]}, stream, indent=2)
