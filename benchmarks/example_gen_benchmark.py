"""ExampleGen wall time and peak memory at several synthetic data sizes; prints a table.

Each measurement runs RecGen's ExampleGen executor (two Beam DirectRunner pipelines: read shards, build examples)
in a fresh Python process, so its peak RSS is that run's alone. Data generation is not
timed. Usage:

    .venv/bin/python benchmarks/example_gen_benchmark.py [--events 100000 1000000 5000000] [--repeats N]
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

import recgen  # noqa: F401,E402  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)

EVENTS_PER_USER = 50
ITEMS_PER_1K_EVENTS = 2  # 100K events -> 200 items ... 5M -> 10,000 items


def run_once(data: str, out: str) -> dict:
    """Runs the executor in this process; returns its wall time and this process's peak RSS."""
    from components.example_gen import executor as eg
    from recgen.contracts import features as F

    started = time.monotonic()
    examples, _ = eg.run_standalone(data, out, data_format="generic_csv")
    wall = time.monotonic() - started
    with open(os.path.join(examples.uri, F.INGESTION_REPORT)) as stream:
        report = json.load(stream)
    return {"wall_s": wall, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "events": report["events"], "examples": sum(report["examples"].values())}


def measure(events: int, repeats: int, workdir: str) -> dict:
    from recgen.data.synthetic import SyntheticConfig, write_generic_csv

    config = SyntheticConfig(users=max(events // EVENTS_PER_USER, 1),
                             items=max(events * ITEMS_PER_1K_EVENTS // 1000, 50),
                             mean_events_per_user=EVENTS_PER_USER, seed=1)
    data = os.path.join(workdir, f"data-{events}")
    write_generic_csv(config, data, show_progress=True)
    runs = []
    for repeat in range(repeats):
        out = os.path.join(workdir, f"out-{events}-{repeat}")
        result = subprocess.run([sys.executable, __file__, "--one", data, out], check=True,
                                stdout=subprocess.PIPE, text=True)
        runs.append(json.loads(result.stdout.strip().splitlines()[-1]))
        shutil.rmtree(out)
    shutil.rmtree(data)
    return {"events": runs[0]["events"], "examples": runs[0]["examples"],
            "wall_s": statistics.median(r["wall_s"] for r in runs),
            "peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, nargs="+", default=[100_000, 1_000_000, 5_000_000])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--one", nargs=2, metavar=("DATA", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_once(*args.one)))
        return
    print(f"{'events':>10} {'examples':>10} {'wall s':>8} {'events/s':>9} {'peak RSS MiB':>12} "
          f"{'time x':>7} {'mem x':>6}  (median of {args.repeats})", flush=True)
    base = None
    with tempfile.TemporaryDirectory(prefix="recgen-bench-") as workdir:
        for events in args.events:  # each row printed as soon as it is measured
            row = measure(events, args.repeats, workdir)
            base = base or row
            print(f"{row['events']:>10,} {row['examples']:>10,} {row['wall_s']:>8.1f} "
                  f"{row['events'] / row['wall_s']:>9,.0f} {row['peak_rss_mib']:>12,.0f} "
                  f"{row['wall_s'] / base['wall_s']:>7.1f} {row['peak_rss_mib'] / base['peak_rss_mib']:>6.1f}",
                  flush=True)


if __name__ == "__main__":
    main()
