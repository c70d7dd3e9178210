"""Most-popular (recent), EASE and content-only on a data set, with RecGen's split and metrics
(docs/evaluation.md); prints a table (``recgen/retrieval_baselines.py`` says how each is fitted).

Events come from RecGen's own ExampleGen (run standalone), so the split is the pipeline's.

    .venv/bin/python benchmarks/retrieval_baselines.py --data ../shared/data/movielens-latest-small
"""
import argparse
import sys
import tempfile

import recgen  # noqa: F401  (TF environment before TensorFlow)
from components.example_gen.executor import run_standalone
from recgen.contracts import features as F
from recgen.retrieval_baselines import ItemTexts, compare_baselines, read_split
from trainer.catalog import read_catalog

COLUMNS = ("hr@10", "ndcg@10", "seen/ndcg@10", "unseen/ndcg@10", "impression_auc", "impression_mrr",
           "impression_ndcg@5", "impression_ndcg@10")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--format", help="default: detected")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        examples, catalog = run_standalone(args.data, tmp, data_format=args.format)
        splits = {split: read_split(examples.uri, split) for split in F.SPLITS}
        catalog = ItemTexts.from_catalog(read_catalog(catalog.uri))
    table = compare_baselines(splits, catalog)
    columns = [c for c in COLUMNS if any(c in row["test"] for row in table.values())]
    print("| baseline | chosen on eval | " + " | ".join(columns) + " |")
    print("|---|---|" + "---:|" * len(columns))
    for name, row in table.items():
        print(f"| {name} | {row['setting']} | " + " | ".join(f"{row['test'].get(c, float('nan')):.4f}" for c in columns)
              + " |")
    seen = next(iter(table.values()))["test"]
    print(f"test users: {seen['seen_users']:,} with a target seen in training, {seen['unseen_users']:,} unseen")
    return 0


if __name__ == "__main__":
    sys.exit(main())
