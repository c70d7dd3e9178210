"""Every setting of the explanation generator, in one place.

The pipeline passes a ``GeneratorConfig`` to its Transform and Trainer as JSON in
``custom_config``, so each run's settings are recorded in ML Metadata.

Example:
    >>> config = GeneratorConfig(num_layers=1, max_epochs=2)
    >>> GeneratorConfig.from_json(config.to_json()) == config
    True
"""
from __future__ import annotations

import dataclasses
from typing import Dict, Optional

from trainer.json_config import JsonConfig

# Keras dtype policies the generator accepts: float32, or mixed precision (float32 variables,
# float16/bfloat16 computation) for GPUs; bfloat16 needs no loss scaling and also runs on CPUs.
DTYPE_POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")


@dataclasses.dataclass(frozen=True)
class GeneratorConfig(JsonConfig):
    """Prompt contents, tokenizer, model sizes, optimisation and default decoding."""

    # Prompt: what of the item and the user the model reads.
    keyword_vocab_size: int = 20000    # review tokens tft.tfidf scores (most frequent first)
    item_keywords: int = 6             # top tf-idf words of an item's train reviews
    review_keywords: int = 3           # top words of each of the user's own train reviews
    reviewed_history_items: int = 3    # the user's most recent history items whose review words count
    recent_titles: int = 2             # titles of the most recent history items
    title_words: int = 8               # words kept of each title
    categories: int = 3                # most specific categories kept
    max_prompt_tokens: int = 64
    max_target_tokens: int = 24        # longest reference learned; default generation length
    # Tokenizer (WordPiece learned on the train split's prompts and references).
    vocabulary_size: int = 4000
    # Model: a GPT-2-style keras-hub backbone; ``preset`` starts from a keras-hub preset instead
    # (a Kaggle/Hugging Face handle such as "gpt2_base_en", or a directory a run saved).
    preset: Optional[str] = None
    lora_rank: Optional[int] = None    # with a preset: LoRA of this rank; None or 0: every weight trains
    dtype_policy: str = "float32"      # "mixed_float16" / "mixed_bfloat16": float32 weights, 16-bit compute
    num_layers: int = 2
    num_heads: int = 4
    hidden_dim: int = 128
    intermediate_dim: int = 512
    dropout: float = 0.1
    # Optimisation.
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 0.01
    max_epochs: int = 30
    max_steps: Optional[int] = None    # stop after this many steps whatever the epochs say
    early_stopping_patience: int = 2   # epochs without a lower eval loss
    seed: int = 42
    # Decoding defaults of the ``generate`` signature (each is also a request input), chosen on
    # the Amazon eval split (benchmarks/explanation_decoding.py, docs/benchmarks.md): greedy text
    # collapses to a few generic phrases ("great pedal"); sampling with a copy bias towards the
    # item's keywords is more specific (Distinct, FMR) at the same BLEU-1 and ROUGE-L.
    min_length: int = 4                # tokens before the explanation may end
    temperature: float = 0.6           # 0: greedy
    top_k: int = 20                    # 0: no top-k cut
    top_p: float = 1.0
    no_repeat_ngram_size: int = 3      # 0: no guard
    copy_bias: float = 4.0             # added to the logits of the item's unwritten keywords; 0: off

    def __post_init__(self):
        if self.dtype_policy not in DTYPE_POLICIES:
            raise ValueError(f"dtype_policy {self.dtype_policy!r}: expected one of {', '.join(DTYPE_POLICIES)}")
        if self.lora_rank is not None and (isinstance(self.lora_rank, bool) or not isinstance(self.lora_rank, int)
                                           or self.lora_rank < 0):
            raise ValueError(f"lora_rank {self.lora_rank!r}: expected a positive integer, or 0/null for full fine-tuning")
        if self.lora_rank and not self.preset:
            raise ValueError(f"lora_rank {self.lora_rank}: LoRA fine-tunes a pretrained model; set preset too "
                             "(a model trained from scratch trains every weight)")

    @property
    def sequence_length(self) -> int:
        """A training sequence: [BOS] prompt [SEP] target [EOS]."""
        return self.max_prompt_tokens + self.max_target_tokens + 3

    @property
    def max_generation_tokens(self) -> int:
        """The most tokens a request may ask the ``generate`` signature for."""
        return 2 * self.max_target_tokens


# Named changes to the defaults (``--generator-config synthetic``): the synthetic data set's
# reviews are templated, so a small generator learns them in a few epochs (the default is sized
# for real reviews).
PRESETS: Dict[str, dict] = {
    "synthetic": {"num_layers": 1, "hidden_dim": 64, "intermediate_dim": 128, "max_epochs": 5},
}
