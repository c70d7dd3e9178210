"""The data stage's wall time and peak memory at several synthetic data sizes; prints a table.

Per size, each stage runs in a fresh Python process, so its peak RSS is that run's alone:
RecGen's ExampleGen executor (two Beam DirectRunner pipelines: read shards, build examples),
then TFX's Transform executor on its output (``trainer.preprocessing``: analyse train,
transform every split; ``transform_stage.py``). ``events/s`` is the data set's events over
the stage's wall time, for both stages. Data generation is not timed. Usage:

    .venv/bin/python benchmarks/example_gen_benchmark.py [--events 100000 1000000 5000000]
        [--no-transform] [--repeats N]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import recgen  # noqa: F401,E402  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from process_memory import peak_rss_mib
from transform_stage import examples_artifact, run_transform

EVENTS_PER_USER = 50
ITEMS_PER_1K_EVENTS = 2  # 100K events -> 200 items ... 5M -> 10,000 items


def run_example_gen(data: str, out: str) -> dict:
    """ExampleGen on ``data`` in this process; its wall time, this process's peak RSS and the counts."""
    from components.example_gen import executor as eg
    from recgen.contracts import features as F

    started = time.monotonic()
    examples, _ = eg.run_standalone(data, out, data_format="generic_csv")
    wall = time.monotonic() - started
    with open(os.path.join(examples.uri, F.INGESTION_REPORT)) as stream:
        report = json.load(stream)
    return {"wall_s": wall, "peak_rss_mib": peak_rss_mib(),
            "events": report["events"], "examples": sum(report["examples"].values())}


def run_transform_stage(example_gen_out: str, out: str) -> dict:
    """Transform on ``run_example_gen``'s output folder in this process; wall time and peak RSS."""
    started = time.monotonic()
    run_transform(examples_artifact(os.path.join(example_gen_out, "examples")),
                  os.path.join(out, "transform_graph"), os.path.join(out, "transformed"))
    return {"wall_s": time.monotonic() - started, "peak_rss_mib": peak_rss_mib()}


STAGES = {"example_gen": run_example_gen, "transform": run_transform_stage}


def in_subprocess(stage: str, source: str, out: str) -> dict:
    result = subprocess.run([sys.executable, __file__, "--one", stage, source, out], check=True,
                            stdout=subprocess.PIPE, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure(events: int, with_transform: bool, repeats: int, workdir: str) -> dict:
    """``{stage: median run}`` over ``repeats`` runs of each stage on ``events`` synthetic events."""
    from recgen.data.synthetic import SyntheticConfig, write_generic_csv

    config = SyntheticConfig(users=max(events // EVENTS_PER_USER, 1),
                             items=max(events * ITEMS_PER_1K_EVENTS // 1000, 50),
                             mean_events_per_user=EVENTS_PER_USER, seed=1)
    data = os.path.join(workdir, f"data-{events}")
    write_generic_csv(config, data, show_progress=True)
    runs = {stage: [] for stage in (STAGES if with_transform else ["example_gen"])}
    for repeat in range(repeats):
        example_gen_out = os.path.join(workdir, f"example_gen-{events}-{repeat}")
        counts = in_subprocess("example_gen", data, example_gen_out)
        runs["example_gen"].append(counts)
        if with_transform:
            transform_out = os.path.join(workdir, f"transform-{events}-{repeat}")
            runs["transform"].append({**counts, **in_subprocess("transform", example_gen_out, transform_out)})
            shutil.rmtree(transform_out)
        shutil.rmtree(example_gen_out)
    shutil.rmtree(data)
    return {stage: {"events": stage_runs[0]["events"], "examples": stage_runs[0]["examples"],
                    "wall_s": statistics.median(r["wall_s"] for r in stage_runs),
                    "peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in stage_runs)}
            for stage, stage_runs in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, nargs="+", default=[100_000, 1_000_000, 5_000_000])
    parser.add_argument("--no-transform", action="store_true", help="time ExampleGen only")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--one", nargs=3, metavar=("STAGE", "SOURCE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        stage, source, out = args.one
        print(json.dumps(STAGES[stage](source, out)))
        return
    print(f"{'stage':<12} {'events':>10} {'examples':>10} {'wall s':>8} {'events/s':>9} {'peak RSS MiB':>12} "
          f"{'time x':>7} {'mem x':>6}  (median of {args.repeats}; x: against the stage's first row)", flush=True)
    base = {}
    with tempfile.TemporaryDirectory(prefix="recgen-bench-") as workdir:
        for events in args.events:  # each size's rows printed as soon as they are measured
            for stage, row in measure(events, not args.no_transform, args.repeats, workdir).items():
                first = base.setdefault(stage, row)
                print(f"{stage:<12} {row['events']:>10,} {row['examples']:>10,} {row['wall_s']:>8.1f} "
                      f"{row['events'] / row['wall_s']:>9,.0f} {row['peak_rss_mib']:>12,.0f} "
                      f"{row['wall_s'] / first['wall_s']:>7.1f} {row['peak_rss_mib'] / first['peak_rss_mib']:>6.1f}",
                      flush=True)


if __name__ == "__main__":
    main()
