"""Every hyperparameter of the retrieval model, in one place.

The pipeline passes a ``RetrievalConfig`` to Transform and Trainer as JSON in
``custom_config``, so a run's settings are recorded in ML Metadata with its artifacts.

Example:
    >>> config = RetrievalConfig(embedding_dim=32, max_epochs=5)
    >>> RetrievalConfig.from_json(config.to_json()) == config
    True
"""
from __future__ import annotations

import dataclasses
from typing import Dict, Optional

from recgen.contracts.features import DEFAULT_HISTORY_LENGTH
from trainer.json_config import JsonConfig

# Keras dtype policies of retrieval training: float32, or bfloat16 computation over float32
# variables (GPUs from Ampere on, TPUs). mixed_float16 would need loss scaling, which
# tfrs.models.Model's train_step does not do.
DTYPE_POLICIES = ("float32", "mixed_bfloat16")
STRATEGIES = ("mirrored",)  # RetrievalConfig.distribute (trainer/distribution.py); null: one device


@dataclasses.dataclass(frozen=True)
class RetrievalConfig(JsonConfig):
    """Sizes, regularisation, optimisation and evaluation settings of the two-tower model."""

    # Inputs (Transform): how much of each feature the towers see.
    # Last N history items per example (ExampleGen), that the query tower attends over and the
    # service sends (it reads the exported model's ``model_settings`` signature).
    history_length: int = DEFAULT_HISTORY_LENGTH
    max_categories: int = 8           # categories / genres per item
    max_title_tokens: int = 16        # title tokens per item
    title_vocab_size: int = 20000     # most frequent title tokens; the rest share an OOV bucket
    age_buckets: int = 40             # log2(1 + minutes) buckets for "how long ago"
    # Towers.
    embedding_dim: int = 64
    attention_heads: int = 2
    attention_layers: int = 1
    # The most recent history items self-attention reads (None: all of history_length); the plain
    # mean of the history's embeddings still covers all of them. 10 trains about 3x faster on 2
    # CPU cores; not the default until a seed study settles its accuracy (docs/benchmarks.md
    # "Training throughput, issue 25").
    attention_window: Optional[int] = None
    dropout: float = 0.1
    user_id_dropout: float = 0.3      # share of training queries that use the unknown-user path
    item_id_dropout: float = 0.1      # share of training candidates that rely on content only
    history_content: bool = False     # the query also reads its history items' categories and titles
    text_encoder_handle: Optional[str] = None  # TF Hub / Kaggle handle; None: the pipeline's own
    text_encoder_trainable: bool = False
    # Optimisation.
    batch_size: int = 512
    learning_rate: float = 0.003
    weight_decay: float = 1e-5
    temperature: float = 0.05
    extra_negatives: int = 1024       # uniform catalog negatives per step (whole catalog when smaller)
    impression_negatives: int = 4     # impression logs: shown-not-clicked items per click (0: off)
    max_epochs: int = 30
    max_steps: Optional[int] = None   # stop after this many steps whatever the epochs say
    early_stopping_patience: int = 3
    eval_k: int = 10                  # early stopping watches HR@eval_k on the eval split
    seed: int = 42
    ensemble_size: int = 1            # members trained with seeds seed, seed + 1, ...; scores add up (ensemble.py)
    refit_on_eval: bool = True        # after early stopping: retrain on train + eval for the best epochs
    warm_start: bool = True           # start from the last blessed model's weights when there is one
    # Hardware (trainer/distribution.py; docs/pipeline.md, "On a GPU machine").
    distribute: Optional[str] = None  # "mirrored": MirroredStrategy over every GPU; batch_size is the global batch
    dtype_policy: str = "float32"     # "mixed_bfloat16": bfloat16 compute, float32 variables
    # Export.
    serving_top_k: int = 100          # k of the serving_default (tf.Example) signature

    def __post_init__(self):
        if self.ensemble_size < 1:
            raise ValueError(f"ensemble_size must be at least 1, not {self.ensemble_size}")
        if self.dtype_policy not in DTYPE_POLICIES:
            raise ValueError(f"dtype_policy {self.dtype_policy!r}: expected one of {', '.join(DTYPE_POLICIES)}")
        if self.distribute is not None and self.distribute not in STRATEGIES:
            raise ValueError(f"distribute {self.distribute!r}: expected null or one of {', '.join(STRATEGIES)}")
        if self.attention_window is not None and self.attention_window < 1:
            raise ValueError(f"attention_window must be at least 1 or null, not {self.attention_window}")


# Named changes to the defaults (``--retrieval-config amazon``), chosen on the eval split of the
# data set they are named after; docs/benchmarks.md has the runs behind them.
_AMAZON = {"batch_size": 128, "max_epochs": 40, "early_stopping_patience": 6, "user_id_dropout": 0.5,
           "dropout": 0.2, "weight_decay": 0.02}  # small data: smaller batches, more regularisation
# News (impression logs): articles are short-lived, so the query also reads its history's content
# (categories, title tokens); `recgen pipeline run` starts from it on data with impressions.
_NEWS = {"history_content": True}
PRESETS: Dict[str, dict] = {
    "amazon": _AMAZON,
    "amazon_ensemble": {**_AMAZON, "ensemble_size": 3},
    "news": _NEWS,
}
