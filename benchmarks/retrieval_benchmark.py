"""Retrieval training throughput and ``recommend`` latency per synthetic catalog size; prints a table.

For each catalog size it builds the pipeline's inputs with RecGen's own pieces (synthetic
generic CSV -> RecGen's ExampleGen -> TFX Transform with ``trainer.preprocessing`` -> the
LSA text encoder; not timed), then measures, each in a fresh Python process so that its
peak RSS is that run's alone:

- training: ``trainer.retrieval_trainer.run_fn`` for a fixed step budget (one epoch,
  no refit). ``train ex/s`` is steps x batch size over the fit's steady state, from the
  end of its first step (tf.function tracing) to the end of its last (the whole-catalog
  eval and the export come after); ``run_fn s`` is the whole call, eval and export included;
- latency: the exported SavedModel loaded in process with ``tf.saved_model.load``, its
  ``recommend`` signature called with k=10 and 30-item histories at batch 1 and batch 32,
  after a warm-up; p50 / p99 over ``--calls`` calls, each including the copy of the
  results to numpy.

Brute-force scoring reads the N x d float32 candidate embeddings on every call whatever
the batch, so ``bound ms`` = those bytes / this machine's memory bandwidth (a numpy copy,
read + write bytes over time) is a floor on the latency. The catalog is every item with an
event: the data has about ``EVENTS_PER_ITEM`` events per item with a flat popularity so
that nearly every requested item gets one; the table reports the catalog measured. Usage:

    .venv/bin/python benchmarks/retrieval_benchmark.py [--items 10000 100000] [--steps 200] [--calls 300]
        [--work-dir DIR] [--keep]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

import recgen  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from recgen.progress import say
from process_memory import peak_rss_mib
from transform_stage import run_transform

EVENTS_PER_ITEM = 5
EVENTS_PER_USER = 20
ZIPF_EXPONENT = 0.3  # flat popularity: the rarest item still expects ~70% of the mean events
HISTORY_ITEMS = 30
BATCHES = (1, 32)
WARM_UP_CALLS = 20


def timed(label: str, function, *args):
    """``function(*args)``, its wall time said on stderr; returns (result, seconds)."""
    started = time.monotonic()
    result = function(*args)
    seconds = time.monotonic() - started
    say(f"benchmark: {label} in {seconds:.1f} s")
    return result, seconds


def paths(work: str) -> dict:
    """Where each stage of one catalog size reads and writes under ``work``."""
    return {name: os.path.join(work, name) for name in
            ("data", "example_gen", "transform_graph", "transformed", "text_encoder", "model")}


def prepare(items: int, work: str) -> dict:
    """Synthetic data -> ExampleGen -> Transform -> text encoder under ``work``; each stage's seconds."""
    from components.example_gen.executor import run_standalone
    from components.text_encoder.component import build_text_encoder
    from recgen.data.synthetic import SyntheticConfig, write_generic_csv

    where = paths(work)
    config = SyntheticConfig(users=max(items * EVENTS_PER_ITEM // EVENTS_PER_USER, 1), items=items,
                             mean_events_per_user=EVENTS_PER_USER, zipf_exponent=ZIPF_EXPONENT, seed=1)
    _, data_s = timed("synthetic data", write_generic_csv, config, where["data"])
    (examples, catalog), example_gen_s = timed("ExampleGen", run_standalone, where["data"], where["example_gen"],
                                               "generic_csv")
    _, transform_s = timed("Transform", run_transform, examples, where["transform_graph"], where["transformed"])
    _, encoder_s = timed("text encoder", build_text_encoder, catalog.uri, where["text_encoder"])
    return {"data_s": data_s, "example_gen_s": example_gen_s, "transform_s": transform_s,
            "text_encoder_s": encoder_s}


def step_clock():
    """A Keras callback that notes in ``.ends`` when each training step of a fit ends."""
    import tensorflow as tf

    class StepClock(tf.keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.ends = []

        def on_train_batch_end(self, batch, logs=None):
            self.ends.append(time.monotonic())
    return StepClock()


def steady_examples_per_second(step_ends: list, batch_size: int) -> float:
    """Examples per second from the end of the first step (which traces the graph) to the end of the last."""
    if len(step_ends) < 2:
        return float("nan")
    return (len(step_ends) - 1) * batch_size / (step_ends[-1] - step_ends[0])


def train(work: str, steps: int) -> dict:
    """``run_fn`` for ``steps`` steps; its steady-state fit throughput, total seconds and peak RSS.

    The step clock rides on ``_Training.fit`` (run_fn takes no callbacks), wrapped in this
    benchmark process only.
    """
    from tfx.components.trainer.fn_args_utils import FnArgs
    from recgen.contracts import features as F
    from recgen.contracts.examples_io import split_dir
    from trainer import retrieval_trainer
    from trainer.catalog import ITEM_CATALOG_URI
    from trainer.config import RetrievalConfig

    where, clock = paths(work), step_clock()
    config = RetrievalConfig(max_epochs=1, max_steps=steps, refit_on_eval=False)
    fit = retrieval_trainer._Training.fit
    retrieval_trainer._Training.fit = lambda run, model, data, epochs, callbacks=(): fit(
        run, model, data, epochs, [*callbacks, clock])
    fn_args = FnArgs(transform_output=where["transform_graph"], train_steps=None, base_model=None,
                     train_files=[os.path.join(split_dir(where["transformed"], F.TRAIN), "*")],
                     eval_files=[os.path.join(split_dir(where["transformed"], F.EVAL), "*")],
                     serving_model_dir=os.path.join(where["model"], "Format-Serving"),
                     custom_config={"retrieval": config.to_json(),
                                    ITEM_CATALOG_URI: os.path.join(where["example_gen"], "catalog"),
                                    retrieval_trainer.TEXT_ENCODER_URI: where["text_encoder"]})
    _, run_fn_s = timed("run_fn", retrieval_trainer.run_fn, fn_args)
    return {"examples_per_s": steady_examples_per_second(clock.ends, config.batch_size), "run_fn_s": run_fn_s,
            "peak_rss_mib": peak_rss_mib()}


def requests(candidate_ids: np.ndarray, batch: int, rng: np.random.Generator) -> dict:
    """``recommend`` inputs, k=10: ``batch`` of the first 1,000 synthetic users, each with 30 catalog items
    a minute apart as history."""
    import tensorflow as tf

    now = 2_000_000_000
    history = rng.choice(candidate_ids, size=(batch, HISTORY_ITEMS))
    return dict(user_id=tf.constant([f"user_{n:06d}" for n in rng.integers(0, 1000, batch)]),
                history_item_ids=tf.constant(history),
                history_timestamps=tf.constant(np.tile(now - 60 * np.arange(HISTORY_ITEMS, 0, -1), (batch, 1))),
                timestamp=tf.constant(np.full(batch, now)), k=tf.constant(10),
                exclude_item_ids=tf.constant([[""]] * batch))


def latency(work: str, batch: int, calls: int) -> dict:
    """p50 / p99 ms of ``recommend`` at ``batch``, the catalog's size and embedding width, peak RSS."""
    import tensorflow as tf
    from trainer.catalog import read_catalog

    where = paths(work)
    candidate_ids = read_catalog(os.path.join(where["example_gen"], "catalog")).item_ids
    model = tf.saved_model.load(os.path.join(where["model"], "Format-Serving"))
    recommend = model.signatures["recommend"]
    items, dim = model.candidate_embeddings.shape
    rng = np.random.default_rng(batch)
    inputs = [requests(candidate_ids, batch, rng) for _ in range(16)]
    millis = []
    for call in range(WARM_UP_CALLS + calls):
        started = time.perf_counter()
        recommend(**inputs[call % len(inputs)])["item_ids"].numpy()
        millis.append((time.perf_counter() - started) * 1000)
    p50, p99 = np.percentile(millis[WARM_UP_CALLS:], [50, 99])
    return {"p50_ms": p50, "p99_ms": p99, "items": int(items), "dim": int(dim), "peak_rss_mib": peak_rss_mib()}


def bandwidth(mib: int) -> dict:
    """This machine's memory bandwidth in GB/s: bytes read + written by a numpy copy, best of five."""
    source = np.ones(mib * 2 ** 20 // 8)
    target = np.empty_like(source)
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        np.copyto(target, source)
        best = min(best, time.perf_counter() - started)
    return {"gb_per_s": 2 * source.nbytes / best / 1e9}


STAGES = {"prepare": lambda items, work: prepare(int(items), work),
          "train": lambda work, steps: train(work, int(steps)),
          "latency": lambda work, batch, calls: latency(work, int(batch), int(calls)),
          "bandwidth": lambda mib: bandwidth(int(mib))}


def in_subprocess(stage: str, *args) -> dict:
    """Runs ``stage`` in a fresh Python process; returns the JSON it prints last."""
    result = subprocess.run([sys.executable, __file__, "--stage", stage, *map(str, args)], check=True,
                            stdout=subprocess.PIPE, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def header(gb_per_s: float, steps: int, calls: int) -> str:
    from trainer.config import RetrievalConfig
    return (f"memory bandwidth (numpy copy) {gb_per_s:.1f} GB/s; training {steps} steps of batch "
            f"{RetrievalConfig().batch_size} (the default config); "
            f"recommend k=10, {HISTORY_ITEMS}-item histories, p50/p99 of {calls} calls\n\n"
            "| catalog items | train ex/s (fit, steady) | run_fn s (fit+eval+export) | train peak RSS MiB "
            "| batch | p50 ms | p99 ms | serve peak RSS MiB | embeddings MB/call | bound ms |\n"
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")


def row(training: dict, batch: int, served: dict, gb_per_s: float) -> str:
    """One table row; ``bound ms``: the N x d float32 embeddings read once at ``gb_per_s``."""
    embedding_bytes = served["items"] * served["dim"] * 4
    return (f"| {served['items']:,} | {training['examples_per_s']:,.0f} | {training['run_fn_s']:.1f} "
            f"| {training['peak_rss_mib']:,.0f} | {batch} | {served['p50_ms']:.2f} | {served['p99_ms']:.2f} "
            f"| {served['peak_rss_mib']:,.0f} | {embedding_bytes / 1e6:.2f} "
            f"| {embedding_bytes / (gb_per_s * 1e9) * 1000:.3f} |")


def measure(items: int, work: str, steps: int, calls: int, gb_per_s: float) -> None:
    """Prepares one catalog size, trains on it and prints a row per batch size as soon as measured."""
    say(f"benchmark: {items:,} items: preparing in {work}")
    prepared = in_subprocess("prepare", items, work)
    say(f"benchmark: {items:,} items prepared: " + ", ".join(f"{k} {v:.1f}" for k, v in prepared.items()))
    training = in_subprocess("train", work, steps)
    for batch in BATCHES:
        served = in_subprocess("latency", work, batch, calls)
        print(row(training, batch, served, gb_per_s), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--steps", type=int, default=200, help="training steps (of the default batch size)")
    parser.add_argument("--calls", type=int, default=300, help="timed recommend calls per batch size")
    parser.add_argument("--bandwidth-mib", type=int, default=512, help="size of the array the bandwidth copy moves")
    parser.add_argument("--work-dir", help="where data, artifacts and models go (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory's contents")
    parser.add_argument("--stage", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        print(json.dumps(STAGES[args.stage[0]](*args.stage[1:])))
        return
    work_dir = args.work_dir or tempfile.mkdtemp(prefix="recgen-retrieval-bench-")
    gb_per_s = in_subprocess("bandwidth", args.bandwidth_mib)["gb_per_s"]
    print(header(gb_per_s, args.steps, args.calls), flush=True)
    for items in args.items:
        work = os.path.join(work_dir, f"items-{items}")
        measure(items, work, args.steps, args.calls, gb_per_s)
        if not args.keep:
            shutil.rmtree(work)
    if not args.keep and not args.work_dir:
        shutil.rmtree(work_dir)


if __name__ == "__main__":
    main()
