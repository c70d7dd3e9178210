"""The suite's slowest inputs, whole pipeline runs, computed in spawned processes from the start.

A pipeline run keeps about one core busy (Beam's DirectRunner and these small Keras models are
mostly single-threaded Python), so ``conftest.py`` starts the runs the collected tests need in
their own processes as soon as collection ends, and the tests that come first use the other
core. A fixture then waits for its run: ``BackgroundRun.result`` returns what the run's
function returned (JSON), or fails the test with the exit code and the tail of the run's log.
The runs are the same ``run_pipeline`` calls a test would make in its own process.

Example (``conftest.py``)::

    run = BackgroundRun("amazon_run", amazon_pipeline, Path("/tmp/runs"))
    run.start()
    PipelineConfig.from_json(run.result()["config"])
"""
from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path
from typing import Callable, Optional

import pytest

RUNS = pytest.StashKey[dict]()  # in pytest's config stash: "workdir" and a BackgroundRun per fixture name


def _child(function: Callable[[Path], dict], workdir: Path, result_path: Path, log_path: Path) -> None:
    """In the spawned process: the run's output goes to its log, its result to a JSON file."""
    with open(log_path, "w", encoding="utf-8") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    import recgen  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
    result = function(workdir)
    result_path.write_text(json.dumps(result))


class BackgroundRun:
    """``function(workdir) -> JSON-able`` run once in a spawned process (TensorFlow does not survive a fork)."""

    def __init__(self, name: str, function: Callable[[Path], dict], workdir: Path):
        self.name, self.function, self.workdir = name, function, workdir
        self.result_path, self.log_path = workdir / "result.json", workdir / "run.log"
        self.process: Optional[multiprocessing.Process] = None

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = multiprocessing.get_context("spawn").Process(
            target=_child, args=(self.function, self.workdir, self.result_path, self.log_path),
            name=f"background {self.name}", daemon=True)
        self.process.start()

    def result(self):
        """Waits for the run (starting it when nobody has); fails the test when it failed."""
        if self.process is None:
            self.start()
        self.process.join()
        if self.process.exitcode != 0:
            tail = self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""
            pytest.fail(f"background run {self.name} exited with code {self.process.exitcode}; "
                        f"the end of {self.log_path}:\n{tail}", pytrace=False)
        return json.loads(self.result_path.read_text())

    def stop(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.process.kill()
            self.process.join()


def background_result(request, name: str):
    """What the background run behind fixture ``name`` returned, once it has finished."""
    return request.config.stash[RUNS][name].result()
