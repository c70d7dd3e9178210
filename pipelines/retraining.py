"""One retraining cycle: the service's new events become a data span, and the pipeline runs again.

A cycle, under ``<root>/retraining/lock`` so that two never overlap:

1. reads the events the recommendation service logged since the last span
   (``EventStore.events_since``) and writes them as the next span under ``<root>/spans``
   (``recgen/contracts/event_spans.py``); with no new events it stops there;
2. runs the pipeline saved by ``recgen pipeline run`` (``PipelineConfig.load``) with every span
   after the source data. The Trainer warm-starts from the last blessed model, the Evaluator
   compares with it, and the Pusher writes a new version only when the model is blessed, so a
   running ``recgen serve`` (or TF Serving) picks it up by polling the model base;
3. appends its outcome to ``<root>/retraining/cycles.jsonl``.

A failed cycle keeps its span: the next cycle trains on those events too.

Example::

    outcome = run_cycle("build/run")
    outcome.status, outcome.served_after
    # -> ('pushed', {'retrieval': 2, 'generator': 2})
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime
import fcntl
import json
import logging
import os
import time
from typing import Dict, Iterator, List, Optional

from recgen.contracts.event_spans import SpanEvent, list_spans, next_sequence, write_span
from recgen.data.canonical import DataError

logger = logging.getLogger(__name__)

RETRAINING_DIR = "retraining"
CYCLE_LOG = "cycles.jsonl"
SPANS_DIR = "spans"
PAGE = 10_000

# Outcomes: a new version serves; trained but refused; nothing to train on; error; another cycle ran.
PUSHED, NOT_BLESSED, NO_NEW_EVENTS, FAILED, BUSY = "pushed", "not_blessed", "no_new_events", "failed", "busy"


class CycleBusy(RuntimeError):
    """Another retraining cycle holds the lock on this root."""


@dataclasses.dataclass
class CycleOutcome:
    """What one cycle did; one JSON line in ``cycles.jsonl``."""

    started: str
    status: str
    seconds: float = 0.0
    span: Optional[int] = None
    new_events: int = 0
    served_before: Dict[str, Optional[int]] = dataclasses.field(default_factory=dict)
    served_after: Dict[str, Optional[int]] = dataclasses.field(default_factory=dict)
    models: Dict[str, dict] = dataclasses.field(default_factory=dict)
    error: Optional[str] = None

    def describe(self) -> str:
        """One line, e.g. ``pushed: span 3 (120 new events); retrieval 2 -> 3 (blessed); 95.1 s``."""
        parts = [f"{self.status}:"]
        if self.span is not None:
            parts.append(f"span {self.span} ({self.new_events:,} new events);")
        for name, model in self.models.items():
            verdict = "blessed" if model["blessed"] else "NOT blessed: " + "; ".join(model["failed"])
            parts.append(f"{name} {self.served_before.get(name)} -> {self.served_after.get(name)} ({verdict});")
        if self.error:
            parts.append(self.error)
        parts.append(f"{self.seconds:.1f} s")
        return " ".join(parts)


def retraining_dir(root: str) -> str:
    return os.path.join(root, RETRAINING_DIR)


def read_cycle_log(root: str) -> List[dict]:
    """Every logged cycle of ``root``, oldest first."""
    path = os.path.join(retraining_dir(root), CYCLE_LOG)
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as stream:
        return [json.loads(line) for line in stream if line.strip()]


def log_outcome(root: str, outcome: CycleOutcome) -> None:
    os.makedirs(retraining_dir(root), exist_ok=True)
    with open(os.path.join(retraining_dir(root), CYCLE_LOG), "a", encoding="utf-8") as stream:
        stream.write(json.dumps(dataclasses.asdict(outcome)) + "\n")


@contextlib.contextmanager
def cycle_lock(root: str) -> Iterator[None]:
    """An exclusive, non-blocking lock on ``root``'s retraining; raises CycleBusy when held.

    An OS file lock (flock): the kernel drops it when its process dies, so a killed
    cycle never leaves a stale lock behind."""
    os.makedirs(retraining_dir(root), exist_ok=True)
    with open(os.path.join(retraining_dir(root), "lock"), "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise CycleBusy(f"another retraining cycle is running on {root}") from error
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _span_event(event) -> SpanEvent:
    # Spans hold one event per line: line breaks in review text become spaces.
    return SpanEvent(event.user_id, event.item_id, event.timestamp, " ".join(event.text.split()))


def write_new_span(store, spans_dir: str):
    """The events logged after the last span, as the next span; None when there are none."""
    events = []
    while True:
        page = store.events_since(events[-1].sequence if events else next_sequence(spans_dir) - 1, PAGE)
        events.extend(page)
        if len(page) < PAGE:
            break
    if not events:
        return None
    return write_span(spans_dir, map(_span_event, events), events[0].sequence, events[-1].sequence)


def _served_versions(config, model_names) -> Dict[str, Optional[int]]:
    from recgen.contracts.model_base import versions
    return {name: max(versions(os.path.join(config.model_base, name)), default=None) for name in model_names}


def _train(config, outcome: CycleOutcome) -> None:
    from pipelines.evaluation_report import describe_failure, model_evaluation
    from pipelines.local_runner import run_pipeline
    from pipelines.recgen_pipeline import GENERATOR_MODEL, RETRIEVAL_MODEL
    models = [RETRIEVAL_MODEL] + ([GENERATOR_MODEL] if config.explain else [])
    outcome.served_before = _served_versions(config, models)
    run_pipeline(config)
    outcome.served_after = _served_versions(config, models)
    for name in models:
        evaluation = model_evaluation(config, name)
        outcome.models[name] = {"blessed": evaluation["blessed"], "pushed_version": evaluation["pushed_version"],
                                "failed": [describe_failure(f) for f in evaluation["failed_thresholds"]]}
    outcome.status = PUSHED if outcome.served_after != outcome.served_before else NOT_BLESSED


@dataclasses.dataclass(frozen=True)
class CycleChanges:
    """Settings changed for one cycle only, over those ``recgen pipeline run`` saved.

    >>> from pipelines.recgen_pipeline import PipelineConfig
    >>> changed = CycleChanges(retrieval={"max_epochs": 2}).apply(PipelineConfig(data_path="data", root="run"))
    >>> changed.retrieval.max_epochs, changed.train_steps == PipelineConfig(data_path="data", root="run").train_steps
    (2, True)
    """

    retrieval: Dict[str, object] = dataclasses.field(default_factory=dict)
    generator: Dict[str, object] = dataclasses.field(default_factory=dict)
    train_steps: Optional[int] = None

    def apply(self, config):
        return dataclasses.replace(
            config, retrieval=config.retrieval.replace(**self.retrieval),
            generator=config.generator.replace(**self.generator),
            train_steps=config.train_steps if self.train_steps is None else self.train_steps)


def run_cycle(root: str, store_url: Optional[str] = None, changes: CycleChanges = CycleChanges()) -> CycleOutcome:
    """One cycle on ``root`` (see the module docstring) with the service's store at ``store_url``
    (default: ``recgen serve``'s SQLite store under ``root``).

    Never raises for a failed or busy cycle: the outcome says what happened, and is logged."""
    from pipelines.recgen_pipeline import PipelineConfig
    from serving.event_store import default_store_path, open_event_store
    started = time.monotonic()
    outcome = CycleOutcome(started=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                           status=FAILED)
    try:
        with cycle_lock(root):
            config = dataclasses.replace(changes.apply(PipelineConfig.load(root)),
                                         event_spans=os.path.join(root, SPANS_DIR))
            with open_event_store(store_url or default_store_path(root)) as store:
                span = write_new_span(store, config.event_spans)
            if span is None:
                outcome.status = NO_NEW_EVENTS
            else:
                outcome.span, outcome.new_events = span.number, span.events
                logger.info(f"retraining: span {span.number} holds {span.events:,} new events; "
                            f"{len(list_spans(config.event_spans))} span(s) in all")
                _train(config, outcome)
    except CycleBusy as error:
        outcome.status, outcome.error = BUSY, str(error)
    except Exception as error:  # a failed cycle is an outcome to log, not the end of a schedule
        outcome.status, outcome.error = FAILED, f"{type(error).__name__}: {error}"
        if not isinstance(error, DataError):  # a DataError's message says it all
            logger.debug("the cycle's traceback", exc_info=True)
    outcome.seconds = round(time.monotonic() - started, 1)
    log_outcome(root, outcome)
    return outcome
