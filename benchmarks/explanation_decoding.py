"""Choosing the generator's default decoding on the EVAL split (never the test split).

Loads the run's trained generator (the GeneratorTrainer's ``generate`` SavedModel), decodes
every eval-split example that has a reference text with each setting of a grid
(temperature, top-k, copy bias), and prints a table of the text metrics
(docs/evaluation.md#metrics) with FMR against the generator's own item keywords. The
defaults in ``trainer/generator/config.py`` are the row that raises Distinct and FMR without
giving up BLEU-1 or ROUGE-L.

Usage (after a pipeline run, e.g. on Amazon Musical Instruments):

    .venv/bin/python benchmarks/explanation_decoding.py --root build/az
"""
from __future__ import annotations

import argparse
import itertools
import os
import time

import recgen  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)

# (temperature, top_k, copy_bias); temperature 0 is greedy.
GRID = [(0.0, 0, 0.0), (0.4, 10, 0.0)] + list(itertools.product((0.4, 0.6, 0.8), (10, 20), (2.0, 4.0)))
COLUMNS = ("bleu-1", "rouge-l", "distinct-1", "distinct-2", "usr", "fmr", "negative-share")


def main() -> None:
    import tensorflow as tf
    from components.split_explainer import explain_rows, split_reviews
    from recgen.contracts import features as F
    from recgen.contracts.examples_io import split_dir
    from recgen.contracts.loaded_signature import LoadedSignature
    from recgen.contracts.run_root import RunRoot, latest_artifact_uri
    from recgen.text_metrics import text_quality
    from trainer.generator.keywords import ITEM_KEYWORDS_FILE, read_item_keywords

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", required=True, help="a pipeline root whose run trained a generator")
    parser.add_argument("--limit", type=int, default=0, help="score only the first N eval examples (0: all)")
    args = parser.parse_args()
    run = RunRoot(args.root)
    model_uri = latest_artifact_uri(run, "Model", producer="GeneratorTrainer")
    examples_uri = latest_artifact_uri(run, "Examples", custom_property="source_format")
    if model_uri is None or examples_uri is None:
        raise SystemExit(f"{args.root}: no GeneratorTrainer model and ExampleGen examples (run the pipeline first)")
    generate = LoadedSignature(os.path.join(model_uri, "Format-Serving"), "generate")
    features = read_item_keywords(os.path.join(model_uri, ITEM_KEYWORDS_FILE))
    rows = [row for row in split_reviews(split_dir(examples_uri, F.EVAL)) if row["summary"]]
    rows = rows[:args.limit] if args.limit else rows
    print(f"{len(rows):,} eval-split examples with a reference text; {len(GRID)} settings", flush=True)
    results = []
    for temperature, top_k, copy_bias in GRID:
        started = time.monotonic()
        texts = explain_rows(generate, rows, temperature=tf.constant(temperature), top_k=tf.constant(top_k),
                             copy_bias=tf.constant(copy_bias))
        scores = text_quality([r["user_id"] for r in rows], [r["item_id"] for r in rows], texts,
                              [r["summary"] for r in rows], features)
        results.append(((temperature, top_k, copy_bias), scores, time.monotonic() - started))
        print(f"  T {temperature} top_k {top_k} copy_bias {copy_bias}: done in {results[-1][2]:.0f} s", flush=True)
    print("\n| temperature | top_k | copy_bias | " + " | ".join(COLUMNS) + " |")
    print("|---:|---:|---:|" + "---:|" * len(COLUMNS))
    for (temperature, top_k, copy_bias), scores, _ in results:
        print(f"| {temperature} | {top_k} | {copy_bias} | " + " | ".join(f"{scores[c]:.4f}" for c in COLUMNS) + " |")


if __name__ == "__main__":
    main()
