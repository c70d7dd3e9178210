"""Most-popular and EASE on a data set, with RecGen's split and metrics (docs/evaluation.md).

These are the baselines the two-tower model is compared with: EASE's regularisation
is chosen on the eval split, then the test split is scored once, by a fit on train
events and by a refit on train + eval events (the test user's history includes eval).
Events come from RecGen's own ExampleGen (run standalone), so the split is the pipeline's.

    .venv/bin/python benchmarks/retrieval_baselines.py --data ../shared/data/movielens-latest-small
"""
import argparse
import os
import sys
import tempfile

import recgen  # noqa: F401  (TF environment before TensorFlow)
import numpy as np
import tensorflow as tf

from recgen.contracts import features as F
from components.example_gen.executor import run_standalone
from recgen.metrics import accuracy_at_k, target_ranks

LAMBDAS = (10.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0)


def read_split(examples_uri, split):
    """``[(user, item, seen_items)]`` of one split, from the raw examples."""
    files = tf.io.gfile.glob(os.path.join(examples_uri, f"Split-{split}", "*.gz"))
    rows = []
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        feature = tf.train.Example.FromString(record.numpy()).features.feature
        value = lambda name: [v.decode() for v in feature[name].bytes_list.value] if name in feature else []
        rows.append((value(F.USER_ID)[0], value(F.ITEM_ID)[0], value(F.SEEN_ITEM_IDS)))
    return rows


def user_item_matrix(rows, items, seen_of):
    """One 0/1 row per entry of ``rows``: the items ``seen_of(row)`` gives."""
    matrix = np.zeros((len(rows), len(items)), np.float32)
    for n, row in enumerate(rows):
        matrix[n, [items[i] for i in seen_of(row)]] = 1.0
    return matrix


def ease_weights(train_matrix, lam):
    gram = train_matrix.T @ train_matrix + lam * np.eye(train_matrix.shape[1], dtype=np.float64)
    precision = np.linalg.inv(gram)
    weights = -precision / np.diag(precision)[None, :]
    np.fill_diagonal(weights, 0.0)
    return weights


def evaluate(scores, rows, items):
    targets = np.array([items[item] for _, item, _ in rows])
    excluded = [np.array([items[i] for i in seen], np.int64) for _, _, seen in rows]
    return accuracy_at_k(target_ranks(scores, targets, excluded), 10)


def item_matrix(rows_by_user, items):
    return user_item_matrix(list(rows_by_user.values()), items, lambda row: row)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        examples, _ = run_standalone(args.data, tmp)
        train, evals, tests = (read_split(examples.uri, split) for split in F.SPLITS)
    items = {item: n for n, item in enumerate(sorted({i for _, i, _ in train + evals + tests}))}
    seen_of = lambda row: row[2]
    eval_inputs = user_item_matrix(evals, items, seen_of)
    test_inputs = user_item_matrix(tests, items, seen_of)
    print("| fitted on | model | test HR@10 | test NDCG@10 |\n|---|---|---|---|")
    best = None
    for fitted_on, rows in (("train", train), ("train + eval", train + evals)):
        by_user = {}
        for user, item, _ in rows:
            by_user.setdefault(user, []).append(item)
        matrix = item_matrix(by_user, items)
        popular = evaluate(np.tile(matrix.sum(axis=0), (len(tests), 1)), tests, items)
        print(f"| {fitted_on} | most popular | {popular['hr@10']:.4f} | {popular['ndcg@10']:.4f} |")
        if best is None:  # lambda is chosen once, on eval, with the train-only fit
            best = max(LAMBDAS, key=lambda lam: evaluate(eval_inputs @ ease_weights(matrix, lam), evals,
                                                         items)["ndcg@10"])
        ease = evaluate(test_inputs @ ease_weights(matrix, best), tests, items)
        print(f"| {fitted_on} | EASE, lambda {best:g} (best eval NDCG@10) | {ease['hr@10']:.4f} | "
              f"{ease['ndcg@10']:.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
