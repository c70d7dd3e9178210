"""Recommendation service load on loopback: QPS and p50/p99 latency per concurrency; prints a table.

Starts ``recgen serve --root ROOT --workers W`` (RecGen's model server + the recommendation
service, a fresh SQLite store seeded from the run's histories; W defaults to the number of
cores) in its own processes, then this process is the client: ``N`` asyncio tasks, each on its own
connection, send ``Recommend`` back to back for ``--seconds`` (after a one-second warm-up),
cycling through the run's users. Modes: without explanations, and with ``--explain-count``
explanations per call. Usage:

    .venv/bin/python benchmarks/serving_benchmark.py [--root build/run] [--seconds 10] [--clients 1 8 32] [--workers W]
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import os
import sys
import tempfile
import time
from typing import Optional

import numpy as np
import psutil

import recgen  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from recgen.serve_cli import start_serve_process


def run_cell(address: str, users: list, clients: int, seconds: float, explain_count: int,
             diversity: Optional[float]) -> dict:
    """Latencies (ms) of every call completed in the measured window, and the failures.

    The clients are asyncio tasks of ``grpc.aio`` on one event loop, not threads: a response is
    timed when it arrives, not when its thread next gets Python's lock (measured with 8 clients in
    four interleaved pairs against one server: p99 1.2-4.1 ms lower, at the same client CPU per call)."""
    return asyncio.run(_run_clients(address, users, clients, seconds, explain_count, diversity))


async def _run_clients(address: str, users: list, clients: int, seconds: float, explain_count: int,
                       diversity: Optional[float]) -> dict:
    import grpc
    from serving.protos import recommendation_pb2 as pb
    from serving.protos import recommendation_pb2_grpc
    latencies, failures = [], []
    start_measuring = time.monotonic() + 1.0
    stop_at = start_measuring + seconds

    async def client(offset: int):
        # a connection per client, as separate client processes have (channels in one process share
        # connections unless told not to); the kernel spreads connections over `recgen serve --workers`
        async with grpc.aio.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)]) as channel:
            stub = recommendation_pb2_grpc.RecommendationServiceStub(channel)
            number = offset
            while time.monotonic() < stop_at:
                request = pb.RecommendRequest(user_id=users[number % len(users)], k=10, explain=explain_count > 0,
                                              explain_count=explain_count)
                if diversity is not None:
                    request.diversity = diversity
                number += clients
                began = time.monotonic()
                try:
                    await stub.Recommend(request, timeout=30)
                except grpc.RpcError as error:
                    failures.append(f"{error.code().name}: {error.details()}")
                    continue
                if began >= start_measuring:
                    latencies.append(1000 * (time.monotonic() - began))
    await asyncio.gather(*(client(n) for n in range(clients)))
    return {"latencies": np.array(latencies), "failures": failures}


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and its children (``recgen serve``'s workers)."""
    parent = psutil.Process(pid)
    return sum(process.memory_info().rss for process in [parent, *parent.children(recursive=True)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default="build/run", help="a pipeline root with pushed models (make run)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="recgen serve --workers (default: cores)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--explain-count", type=int, default=5)
    parser.add_argument("--diversity", type=float, help="MMR weight of every request (default: the service's)")
    parser.add_argument("--modes", nargs="+", choices=["plain", "explained"], default=["plain", "explained"])
    args = parser.parse_args()
    from serving.history_import import training_events
    from recgen.contracts.run_root import latest_ingestion_report
    from pipelines.recgen_pipeline import PipelineConfig
    examples_uri = latest_ingestion_report(PipelineConfig(data_path="", root=args.root))["examples_uri"]
    users = sorted({event.user_id for event in training_events(examples_uri)})
    with tempfile.TemporaryDirectory() as workdir:
        server, address = start_serve_process(args.root, os.path.join(workdir, "events.db"),
                                              os.path.join(workdir, "serve.log"),
                                              serve_args=["--workers", str(args.workers)])
        peak_rss = 0
        rows = []
        try:
            for explain_count in [0] * ("plain" in args.modes) + [args.explain_count] * ("explained" in args.modes):
                for clients in args.clients:
                    cell = run_cell(address, users, clients, args.seconds, explain_count, args.diversity)
                    peak_rss = max(peak_rss, _tree_rss(server.pid))
                    latencies = cell["latencies"]
                    rows.append((f"{explain_count} explanations" if explain_count else "no explanations", clients,
                                 len(latencies), len(latencies) / args.seconds, np.percentile(latencies, 50),
                                 np.percentile(latencies, 99), len(cell["failures"])))
                    print(f"  measured: {rows[-1][0]}, {clients} clients", file=sys.stderr, flush=True)
                    for failure, count in collections.Counter(cell["failures"]).most_common():
                        print(f"    failed {count}x: {failure}", file=sys.stderr, flush=True)
        finally:
            server.terminate()
            server.wait()
    print(f"Recommend on loopback, k=10, {len(users):,} users, {args.seconds:.0f} s per row, "
          f"{os.cpu_count()} cores, {args.workers} serving workers; server peak RSS (all its processes) "
          f"{peak_rss / 2 ** 20:,.0f} MiB")
    print("| mode | clients | requests | QPS | p50 ms | p99 ms | failed |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for mode, clients, count, qps, p50, p99, failed in rows:
        print(f"| {mode} | {clients} | {count:,} | {qps:,.1f} | {p50:.1f} | {p99:.1f} | {failed} |")


if __name__ == "__main__":
    main()
