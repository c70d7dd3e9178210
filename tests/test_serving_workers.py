"""``recgen serve --workers 2``: two processes on the same ports share the event store; the set
stops together when the parent or a worker dies."""
import re
import shutil
import signal
import socket
import subprocess
import sys

import grpc
import psutil
import pytest

from recgen.serve_cli import start_serve_process
from serving.protos import recommendation_pb2 as pb
from serving.protos import recommendation_pb2_grpc
from serving.workers import reserve_ports
from tests.serving_fixtures import copy_model_base

USER = "user_000001"
# Every serving process (each worker too) imports these at start.
SERVING_MODULES = ("recgen.serve_cli", "serving.history_import", "serving.model_server", "serving.model_client",
                   "serving.recommendation_service", "serving.recommender", "serving.event_store",
                   "serving.workers", "serving.server_stack",
                   "recgen.contracts.run_root")  # the last: history import, at start


def test_a_serving_process_imports_neither_tfx_nor_beam():
    """TFX's imports (Beam, TFMA, cloud clients) added about 25 s to every start of `recgen serve`."""
    code = (f"import sys, {', '.join(SERVING_MODULES)}; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'tfx', 'apache_beam', 'tensorflow_model_analysis'}))")
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert imported.strip() == "[]"


def _start_workers(synthetic_run, tmp_path):
    """``recgen serve --workers 2`` over a private copy of the synthetic run; (process, address, workers)."""
    config, _, _ = synthetic_run
    root = str(tmp_path / "root")
    shutil.copytree(config.root, root, ignore=shutil.ignore_patterns("serving-state", "serving"))
    copy_model_base(config, root)
    process, address = start_serve_process(root, f"sqlite:///{tmp_path}/events.db", str(tmp_path / "serve.log"),
                                           serve_args=["--workers", "2"])
    workers = [child for child in psutil.Process(process.pid).children()
               if "resource_tracker" not in " ".join(child.cmdline())]
    return process, address, workers


def _new_connection(address: str):
    """A stub on its own TCP connection (channels in one process share connections by default)."""
    channel = grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)])
    return recommendation_pb2_grpc.RecommendationServiceStub(channel)


def _ports(process: psutil.Process, status: str, port: int) -> list:
    return [c for c in process.net_connections(kind="tcp") if c.status == status and c.laddr.port == port]


def _gone_within(processes, seconds: float) -> bool:
    _, alive = psutil.wait_procs(processes, timeout=seconds)
    return not alive


def test_two_workers_share_the_port_and_an_event_changes_every_workers_answer(synthetic_run, tmp_path):
    process, address, workers = _start_workers(synthetic_run, tmp_path)
    port = int(address.rsplit(":", 1)[1])
    try:
        assert len(workers) == 2
        assert all(_ports(worker, psutil.CONN_LISTEN, port) for worker in workers), "a worker is not listening"
        before = _new_connection(address).Recommend(pb.RecommendRequest(user_id=USER, k=10), timeout=30)
        new_item = before.items[0].item_id
        _new_connection(address).RecordEvent(pb.RecordEventRequest(event=pb.Event(
            event_id="workers-test", user_id=USER, item_id=new_item, type="purchase")), timeout=30)
        stubs = [_new_connection(address) for _ in range(16)]
        answers = [stub.Recommend(pb.RecommendRequest(user_id=USER, k=10), timeout=30) for stub in stubs]
        # 16 connections: both workers answered some (all on one would happen with probability 2^-15)
        serving = [worker for worker in workers if _ports(worker, psutil.CONN_ESTABLISHED, port)]
        assert len(serving) == 2, "the kernel gave every connection to one worker"
        assert all(answer.history_length == before.history_length + 1 for answer in answers)
        assert all(new_item not in [item.item_id for item in answer.items] for answer in answers)
    finally:
        process.send_signal(signal.SIGKILL)  # the parent dies without stopping its workers...
        process.wait()
    assert _gone_within(workers, 30), "workers outlived their parent"  # ...which stop on their own


def test_a_dead_worker_stops_the_set(synthetic_run, tmp_path):
    process, address, workers = _start_workers(synthetic_run, tmp_path)
    try:
        workers[0].send_signal(signal.SIGKILL)
        assert process.wait(timeout=60) == 1
        assert _gone_within(workers[1:], 30)
    finally:
        if process.poll() is None:
            process.kill()
    log = (tmp_path / "serve.log").read_text()
    assert re.search(r"worker [12]/2 exited with code -9; stopping the other workers", log)


def test_a_port_held_by_another_program_is_named():
    holder = socket.create_server(("127.0.0.1", 0))
    port = holder.getsockname()[1]
    try:
        with pytest.raises(OSError, match=f"cannot reserve 127.0.0.1:{port} for the workers"):
            reserve_ports("127.0.0.1", [0, port])
    finally:
        holder.close()
    free = reserve_ports("127.0.0.1", [0, 0])
    assert all(sock.getsockname()[1] > 0 for sock in free)
    for sock in free:
        sock.close()
