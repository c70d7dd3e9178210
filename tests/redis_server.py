"""A throwaway ``redis-server`` for tests: the ``redis_url`` fixture.

Use it from a test module with ``from tests.redis_server import redis_url  # noqa: F401``.
"""
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis

SKIP_REASON = "redis-server is not installed (make test installs it with apt-get where it can)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    """``redis://127.0.0.1:<port>/0`` of a fresh redis-server (append-only, fsync always),
    its files in ``tmp_path``; terminated after the test."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip(SKIP_REASON)
    port, log = free_port(), tmp_path / "redis.log"
    server = subprocess.Popen([binary, "--bind", "127.0.0.1", "--port", str(port), "--appendonly", "yes",
                               "--appendfsync", "always", "--dir", str(tmp_path), "--save", "",
                               "--logfile", str(log)])
    url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_for_ping(url, server, log)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def wait_for_ping(url: str, server: subprocess.Popen, log: Path, seconds: float = 10.0) -> None:
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + seconds
    try:
        while server.poll() is None:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        raise RuntimeError(f"redis-server exited with {server.returncode}: {log.read_text() if log.exists() else ''}")
    finally:
        client.close()
