"""Which version of each model is served: the highest one, found by polling the model base.

A new version is loaded and warmed up (``assets.extra`` records) beside the one serving, then
swapped in under a lock; requests already running finish on the version they started with, so
a push fails no request. A version that fails to load is reported by ``status`` and skipped;
the previous version keeps serving. Removing the newest version's directory rolls back to the
highest one left.

Example::

    manager = ModelManager(ModelBase("/srv/models"), poll_seconds=0.25)
    manager.start()
    served, outputs = manager.predict("retrieval", None, "serving_default", {"examples": batch})
"""
from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from typing import Dict, List, Optional, Tuple

import numpy as np

from recgen.contracts.model_base import ModelBase
from serving.batching import Batcher, batch_key
from serving.errors import not_found
from serving.servable import ServedVersion, batch_dimension

logger = logging.getLogger(__name__)

AVAILABLE, END = "AVAILABLE", "END"


@dataclasses.dataclass(frozen=True)
class VersionStatus:
    version: int
    state: str  # AVAILABLE or END (TF Serving's ModelVersionStatus.State names)
    error: str = ""  # why it ended when it failed to load; empty for a version that was replaced


class ModelManager:
    """Loads the highest version of every model in a base and keeps it current."""

    def __init__(self, base: ModelBase, poll_seconds: float = 0.25, batcher: Optional[Batcher] = None):
        self.base, self.poll_seconds, self.batcher = base, poll_seconds, batcher
        self._served: Dict[str, ServedVersion] = {}
        self._history: Dict[str, Dict[int, VersionStatus]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="model-poller", daemon=True)

    def start(self) -> None:
        """Loads what the base holds now, then polls it in the background."""
        self.refresh()
        self._poller.start()

    def stop(self) -> None:
        self._stop.set()
        if self.batcher:
            self.batcher.close()

    def refresh(self) -> None:
        """Loads each model's highest complete version when it is not the one serving.

        Versions that failed to load are skipped. A version that was replaced can serve again: when
        the newest version's directory is removed, the highest one left is loaded (a rollback), as
        TF Serving's latest-version policy does."""
        for name, model_dir in self.base.model_dirs().items():
            failed = {v for v, status in self._history.get(name, {}).items() if status.error}
            candidates = [v for v in self.base.servable_versions(model_dir) if v not in failed]
            current = self._served.get(name)
            if candidates and (current is None or candidates[-1] != current.version):
                self._load(name, candidates[-1], os.path.join(model_dir, str(candidates[-1])))

    def _load(self, name: str, version: int, path: str) -> None:
        logger.info(f"model server: loading {name} version {version} from {path}")
        started = time.monotonic()
        try:
            served = ServedVersion(name, version, path)
            warmed = served.warm_up()
        except Exception as error:  # noqa: BLE001 -- any load failure: report it, keep serving the old one
            # never empty: a status with an error is a failed load (refresh skips it, GetModelStatus
            # reports it), and some exceptions have no message
            reason = str(error) or repr(error)
            logger.error(f"model server: {name} version {version} failed to load: {reason}")
            self._history.setdefault(name, {})[version] = VersionStatus(version, END, reason)
            return
        with self._lock:
            previous = self._served.get(name)
            self._served[name] = served
            statuses = self._history.setdefault(name, {})
            statuses[version] = VersionStatus(version, AVAILABLE)
            if previous is not None:
                statuses[previous.version] = VersionStatus(previous.version, END)
        logger.info(f"model server: serving {name} version {version} (loaded in {time.monotonic() - started:.1f} s, "
                    f"{warmed} warm-up requests replayed)")

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.refresh()
            except Exception as error:  # noqa: BLE001 -- a bad models.config must not stop polling
                logger.warning(f"model server: cannot read the model base {self.base.base_dir}: {error}")

    def served(self, name: str, version: Optional[int] = None) -> ServedVersion:
        """The version serving ``name`` (the one asked for, when ``version`` is given)."""
        with self._lock:
            served = self._served.get(name)
        if served is None or (version is not None and served.version != version):
            wanted = f"Specific({name}, {version})" if version is not None else f"Latest({name})"
            raise not_found(f"Servable not found for request: {wanted}")
        return served

    def status(self, name: str, version: Optional[int] = None) -> List[VersionStatus]:
        """Every version of ``name`` this server has loaded or tried, or the one asked for."""
        with self._lock:
            statuses = dict(self._history.get(name, {}))
        if version is not None:
            statuses = {v: s for v, s in statuses.items() if v == version}
        if not statuses:
            raise not_found(f"Could not find any versions of model {name}"
                            + (f" version {version}" if version is not None else ""))
        return [statuses[v] for v in sorted(statuses)]

    def predict(self, name: str, version: Optional[int], signature: str,
                inputs: Dict[str, np.ndarray]) -> Tuple[ServedVersion, Dict[str, np.ndarray]]:
        """The version that answered and the signature's outputs, batched with concurrent requests."""
        served = self.served(name, version)
        checked = served.checked_inputs(signature, inputs)
        rows = batch_dimension(checked)
        if self.batcher is None or rows is None:
            return served, served.run(signature, checked)
        key = batch_key((name, served.version, id(served)), signature, checked)
        return served, self.batcher.run(key, lambda batch: served.run(signature, batch), checked, rows)

