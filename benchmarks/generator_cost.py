"""What an explanation costs: generation latency and memory of the generator's serving SavedModel
at two model sizes, and a LoRA training step at GPT-2 base size, on this machine's CPU.

Shapes (randomly initialised: the hub is unreachable here, and cost depends on shapes, not values):

* ``default``: the ``GeneratorConfig()`` generator (2 layers, 128 hidden, 4 heads, 512
  intermediate, WordPiece vocabulary of 4,000);
* ``gpt2_base``: ``gpt2_base_en``'s shapes (12 layers, 768 hidden, 12 heads, 3,072
  intermediate, 50,257 byte-level BPE tokens, 1,024 positions; 124 M parameters).

Each shape is exported with ``export_generator`` and loaded into a Session as the model server
loads it (``serving.servable.ServedVersion``), each in its own process so RSS is its own. A
request asks for exactly ``--tokens`` new tokens (``min_length = max_length``) with the default
sampling. Latency is the median over ``--repeats`` requests of batch 1 and batch 5; "per
explanation" divides by the batch. RSS is the process's after loading and serving. The LoRA
step is ``fit`` of one batch of ``--train-batch`` full-length sequences (rank 8 on query and
value, ``backbone.enable_lora``), median over repeats after one warm-up step.

GPU and Gemma rows are FLOP/bandwidth estimates, printed as such (no GPU or Gemma here).

Usage:

    .venv/bin/python benchmarks/generator_cost.py [--repeats 5] [--tokens 24] [--train-batch 8]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import recgen  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHAPES = {
    "default": dict(num_layers=2, num_heads=4, hidden_dim=128, intermediate_dim=512, vocabulary_size=4000,
                    max_sequence_length=None),
    "gpt2_base": dict(num_layers=12, num_heads=12, hidden_dim=768, intermediate_dim=3072, vocabulary_size=50257,
                      max_sequence_length=1024),
}
WORDS = "great tone warm amp tube strings bright crisp pedal tuner sturdy stand cable clean sound".split()
# Assumptions of the estimates (say so wherever they are quoted).
GPU_BF16_FLOPS = 400e12      # sustained dense bf16 FLOP/s assumed for an H100 (989 T peak)
GPU_BANDWIDTH = 3.35e12      # H100 SXM HBM3 bytes/s: batch-1 decoding reads every weight per token
GEMMA_2B_PARAMS = 2.5e9


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def tokenizer_for(shape: str, vocabulary_size: int):
    if shape == "gpt2_base":
        sys.path.insert(0, ROOT)
        from tests.tiny_presets import gpt2_tokenizer
        return gpt2_tokenizer(WORDS, vocabulary_size)
    from trainer.generator.tokenizer import RESERVED_TOKENS, ExplanationTokenizer
    vocabulary = RESERVED_TOKENS + WORDS + [f"w{i}" for i in range(vocabulary_size - len(RESERVED_TOKENS) - len(WORDS))]
    return ExplanationTokenizer(vocabulary=vocabulary)


def causal_lm_for(shape: str, config, tokenizer):
    import keras_hub
    from trainer.generator.model import max_sequence_length
    sizes = SHAPES[shape]
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=tokenizer.vocabulary_size(), num_layers=sizes["num_layers"], num_heads=sizes["num_heads"],
        hidden_dim=sizes["hidden_dim"], intermediate_dim=sizes["intermediate_dim"], dropout=0.0,
        max_sequence_length=sizes["max_sequence_length"] or max_sequence_length(config))
    return keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)


def toy_builder(config, table_dir: str, items: int = 50):
    import numpy as np
    from trainer.catalog import Catalog
    from trainer.generator.keywords import KeywordTables
    from trainer.generator.prompts import PromptBuilder
    ids = [f"i{i}" for i in range(items)]
    catalog = Catalog(np.array([i.encode() for i in ids], object),
                      np.array([f"Sturdy Stand Model {i} Warm Tube Amp".encode() for i in range(items)], object),
                      np.array([[b"Instruments", b"Amps"]] * items, object), np.array([b""] * items, object))
    tables = KeywordTables(item_scores={i: {w: 1.0 / (k + 1) for k, w in enumerate(WORDS[:8])} for i in ids},
                           review_scores={("u1", i): {"warm": 1.0, "crisp": 0.5} for i in ids}, config=config)
    return PromptBuilder.from_tables(catalog, tables, config, table_dir)


def export_shape(shape: str, export_dir: str) -> dict:
    """The shape's randomly initialised generator, exported as the Trainer exports it."""
    import numpy as np
    from trainer.evaluation_slices import EvaluationSlices
    from trainer.generator.export import export_generator
    config = config_for(shape)
    tokenizer = tokenizer_for(shape, SHAPES[shape]["vocabulary_size"])
    causal_lm = causal_lm_for(shape, config, tokenizer)
    slices = EvaluationSlices.from_training_events(np.array([b"i0"], object), np.array([1]))
    builder = toy_builder(config, os.path.join(os.path.dirname(export_dir), "prompt_tables"))
    export_generator(causal_lm, tokenizer, builder, config, slices, export_dir)
    return {"parameters": causal_lm.count_params()}


def config_for(shape: str, **changes):
    from trainer.generator.config import GeneratorConfig
    sizes = SHAPES[shape]
    return GeneratorConfig(num_layers=sizes["num_layers"], num_heads=sizes["num_heads"], hidden_dim=sizes["hidden_dim"],
                           intermediate_dim=sizes["intermediate_dim"], vocabulary_size=sizes["vocabulary_size"], **changes)


def generation_cost(shape: str, export_dir: str, repeats: int, tokens: int) -> dict:
    """In a process of its own, as the model server would be: Session load, timed requests, RSS."""
    import numpy as np
    from serving.servable import ServedVersion
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(export_dir) for f in files)
    served = ServedVersion("generator", 1, export_dir)
    results = {"shape": shape, "saved_model_mib": size / 2**20}
    for batch in (1, 5):
        request = {"user_id": np.array([b"u1"] * batch, object),
                   "item_id": np.array([f"i{i}".encode() for i in range(batch)], object),
                   "history_item_ids": np.array([[b"i7", b"i9"]] * batch, object),
                   "max_length": np.int32(tokens), "min_length": np.int32(tokens)}
        inputs = served.checked_inputs("generate", request)
        served.run("generate", inputs)  # warm-up
        times = []
        for seed in range(repeats):
            inputs["seed"] = np.int64(seed)
            started = time.perf_counter()
            outputs = served.run("generate", inputs)
            times.append(time.perf_counter() - started)
        assert all(outputs["explanations"])
        results[f"batch{batch}_ms"] = 1000 * statistics.median(times)
    results["rss_mib"] = rss_mib()
    return results


def lora_step_cost(repeats: int, batch: int) -> dict:
    """A LoRA rank-8 training step at gpt2_base shapes, through the trainer's own pieces."""
    import keras
    import tensorflow as tf
    from trainer.generator.model import enable_lora, training_batch
    config = config_for("gpt2_base", batch_size=batch)
    tokenizer = tokenizer_for("gpt2_base", SHAPES["gpt2_base"]["vocabulary_size"])
    causal_lm = causal_lm_for("gpt2_base", config, tokenizer)
    enable_lora(causal_lm, 8)
    words = " ".join(WORDS * 10)
    inputs, labels, weights = training_batch(tokenizer, tf.constant([words] * batch), tf.constant([words] * batch), config)
    causal_lm.compile(optimizer=keras.optimizers.AdamW(config.learning_rate, weight_decay=config.weight_decay),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), weighted_metrics=[])
    data = tf.data.Dataset.from_tensors((inputs, labels, weights)).repeat()
    causal_lm.fit(data, steps_per_epoch=1, epochs=1, verbose=0)  # build and trace
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        causal_lm.fit(data, steps_per_epoch=1, epochs=1, verbose=0)
        times.append(time.perf_counter() - started)
    trainable = sum(int(w.numpy().size) for w in causal_lm.trainable_weights)
    return {"step_s": statistics.median(times), "batch": batch, "sequence_length": int(labels.shape[1]) + 1,
            "trainable": trainable, "parameters": causal_lm.count_params(), "rss_mib": rss_mib(),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def in_subprocess(args: list) -> dict:
    result = subprocess.run([sys.executable, os.path.abspath(__file__), *args], capture_output=True, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    if result.returncode:
        raise SystemExit(f"{args}: failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=24, help="new tokens per explanation (max_target_tokens)")
    parser.add_argument("--train-batch", type=int, default=8)
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)  # export|serve|lora [SHAPE DIR]
    args = parser.parse_args()
    if args.worker:
        task, *rest = args.worker
        result = (lora_step_cost(args.repeats, args.train_batch) if task == "lora" else export_shape(*rest)
                  if task == "export" else generation_cost(*rest, args.repeats, args.tokens))
        print(json.dumps(result))
        return
    common = ["--repeats", str(args.repeats), "--tokens", str(args.tokens), "--train-batch", str(args.train_batch)]
    rows = []
    for shape in SHAPES:
        model_dir = tempfile.mkdtemp(prefix=f"generator-cost-{shape}-")  # laid out as the Trainer's
        export_dir = os.path.join(model_dir, "serving")
        try:
            exported = in_subprocess([*common, "--worker", "export", shape, export_dir])
            rows.append({**exported, **in_subprocess([*common, "--worker", "serve", shape, export_dir])})
        finally:
            shutil.rmtree(model_dir, ignore_errors=True)
    lora = in_subprocess([*common, "--worker", "lora"])
    print(f"Generation, measured on this CPU ({os.cpu_count()} cores), {args.tokens} new tokens per explanation, "
          f"median of {args.repeats}:")
    print("| shape | params | SavedModel MiB | RSS MiB | batch 1 ms | batch 5 ms | ms/explanation @1 | @5 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['shape']} | {row['parameters'] / 1e6:.1f} M | {row['saved_model_mib']:.0f} | {row['rss_mib']:.0f} | "
              f"{row['batch1_ms']:.0f} | {row['batch5_ms']:.0f} | {row['batch1_ms']:.0f} | {row['batch5_ms'] / 5:.0f} |")
    print(f"\nLoRA rank 8 training step, gpt2_base shapes, measured on this CPU: batch {lora['batch']} x "
          f"{lora['sequence_length']} tokens: {lora['step_s']:.2f} s/step (median of {args.repeats}); "
          f"trainable {lora['trainable']:,} of {lora['parameters']:,} parameters "
          f"({100 * lora['trainable'] / lora['parameters']:.2f} %); RSS {lora['rss_mib']:.0f} MiB, "
          f"peak {lora['peak_rss_mib']:.0f} MiB")
    print(f"\nESTIMATES, not measured (no GPU here): 2 x params FLOPs per generated token; GPU compute at an assumed "
          f"{GPU_BF16_FLOPS / 1e12:.0f} TFLOP/s sustained bf16 (H100), and batch-1 decoding bounded by reading "
          f"every bf16 weight once per token at {GPU_BANDWIDTH / 1e12:.2f} TB/s:")
    print("| model | params | GFLOP/token | weights GiB (bf16) | compute-bound ms/explanation | "
          "bandwidth-bound ms/explanation @1 |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, params in (("gpt2_base_en", rows[1]["parameters"]), ("gemma_2b_en", GEMMA_2B_PARAMS)):
        flops = 2 * params
        print(f"| {name} | {params / 1e9:.2f} B | {flops / 1e9:.2f} | {2 * params / 2**30:.2f} | "
              f"{1000 * args.tokens * flops / GPU_BF16_FLOPS:.2f} | {1000 * args.tokens * 2 * params / GPU_BANDWIDTH:.1f} |")
    print(f"Training (estimate): ~6 x params FLOPs per trained token (LoRA saves optimizer memory, not forward/backward "
          f"FLOPs): gemma_2b_en, a batch of {args.train_batch} x {lora['sequence_length']} tokens: "
          f"{6 * GEMMA_2B_PARAMS * args.train_batch * lora['sequence_length'] / GPU_BF16_FLOPS * 1000:.0f} ms/step at "
          f"the assumed throughput; its bf16 weights alone take {2 * GEMMA_2B_PARAMS / 2**30:.1f} GiB "
          f"(float32 master weights under mixed_bfloat16: {4 * GEMMA_2B_PARAMS / 2**30:.1f} GiB).")


if __name__ == "__main__":
    main()
