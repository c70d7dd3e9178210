"""How long the model server takes to load a pushed version: Session loading vs ``tf.saved_model.load``.

A new version serves only once it is loaded and warmed up, so the load time bounds how soon a
push serves (the reliability test allows 5 s under load). For each model of the run's model base,
this loads the newest version ``--repeats`` times each way, interleaved, in this process:

* ``session``: ``ServedVersion`` (``tf.compat.v1.saved_model.load`` into a Session, as TF
  Serving loads), then its warm-up records replayed;
* ``saved_model.load``: ``tf.saved_model.load``, which rebuilds the SavedModel's functions as
  Python graphs (what the model server did before), without warm-up.

Prints a table of medians. Usage:

    .venv/bin/python benchmarks/model_load_benchmark.py [--root build/run] [--repeats 5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import recgen  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)


def _timed(load) -> float:
    started = time.monotonic()
    load()
    return time.monotonic() - started


def main() -> None:
    import tensorflow as tf
    from recgen.contracts.model_base import ModelBase
    from serving.servable import ServedVersion
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default="build/run", help="a pipeline root with pushed models (make run)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    base = ModelBase(os.path.join(args.root, "serving"))
    rows = []
    for name, model_dir in sorted(base.model_dirs().items()):
        version = base.servable_versions(model_dir)[-1]
        path = os.path.join(model_dir, str(version))
        times = {"session": [], "session + warm-up": [], "saved_model.load": []}
        for repeat in range(args.repeats):
            started = time.monotonic()
            served = ServedVersion(name, version, path)
            times["session"].append(time.monotonic() - started)
            served.warm_up()
            times["session + warm-up"].append(time.monotonic() - started)
            times["saved_model.load"].append(_timed(lambda: tf.saved_model.load(path)))
            print(f"  {name}: repeat {repeat + 1}/{args.repeats}", flush=True)
        medians = {way: statistics.median(seconds) for way, seconds in times.items()}
        rows.append((name, version, medians, medians["saved_model.load"] / medians["session"]))
    print(f"\nModel load, median of {args.repeats} interleaved repeats, {os.cpu_count()} cores\n")
    print("| model | version | session s | session + warm-up s | saved_model.load s | saved_model.load / session |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, version, medians, ratio in rows:
        print(f"| {name} | {version} | {medians['session']:.2f} | {medians['session + warm-up']:.2f} "
              f"| {medians['saved_model.load']:.2f} | {ratio:.1f}x |")


if __name__ == "__main__":
    main()
