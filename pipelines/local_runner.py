"""Runs the RecGen pipeline with LocalDagRunner and prints one progress line per component.

LocalDagRunner has no progress hook; it logs "Component X is running." and
"Component X is finished." through absl, so a logging handler turns those into
``[2/5] StatisticsGen ... done in 4.1 s`` lines.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import time

from absl import logging as absl_logging
from tfx import v1 as tfx

from pipelines.recgen_pipeline import PipelineConfig, create_pipeline

logger = logging.getLogger(__name__)

# Warnings TFX 1.16 logs on every run that change nothing: input resolution's, Transform's
# (TFT initialises its vocabulary tables inside the traced preprocessing_fn), and the
# Trainer's about Transform's examples having no payload_format (they are tf.Examples).
_KNOWN_HARMLESS_WARNINGS = ("ArtifactQuery.property_predicate is not supported.",
                            "Tables initialized inside a tf.function",
                            "Examples artifact does not have payload_format custom property.")
_COMPONENT_EVENT = re.compile(r"^Component (\S+) is (running|finished)\.$")


class ComponentProgress(logging.Handler):
    """Turns LocalDagRunner's component log lines into numbered progress lines."""

    def __init__(self, component_ids):
        super().__init__(level=logging.INFO)
        self._position = {cid: n for n, cid in enumerate(component_ids, start=1)}
        self._total = len(component_ids)
        self._started = {}
        self.finished = []

    def emit(self, record: logging.LogRecord) -> None:
        match = _COMPONENT_EVENT.match(record.getMessage())
        if not match:
            return
        component, state = match.groups()
        step = f"[{self._position.get(component, '?')}/{self._total}] {component}"
        if state == "running":
            self._started[component] = time.monotonic()
            logger.info(f"{step} ...")
        else:
            self.finished.append(component)
            logger.info(f"{step} done in {time.monotonic() - self._started.get(component, time.monotonic()):.1f} s")


@contextlib.contextmanager
def _component_logging(component_ids, log_path: str):
    """During the run: TFX's INFO log to ``log_path``, warnings to stderr, progress lines to stderr."""
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    progress = ComponentProgress(component_ids)
    to_file = logging.FileHandler(log_path)
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    warnings_only = logging.StreamHandler()
    warnings_only.setLevel(logging.WARNING)
    warnings_only.addFilter(lambda record: not record.getMessage().startswith(_KNOWN_HARMLESS_WARNINGS))
    logger = absl_logging.get_absl_logger()
    saved = absl_logging.get_verbosity(), logger.propagate
    handlers = (progress, to_file, warnings_only)
    for handler in handlers:
        logger.addHandler(handler)
    # Through absl's verbosity flag, not logger.setLevel: tf.saved_model.save saves and restores
    # that flag, which would silently reset a level set on the logger alone.
    absl_logging.set_verbosity(absl_logging.INFO)
    logger.propagate = False
    try:
        yield progress
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
        to_file.close()
        absl_logging.set_verbosity(saved[0])
        logger.propagate = saved[1]


def run_pipeline(config: PipelineConfig) -> tfx.dsl.Pipeline:
    """Runs the pipeline to the end; an exception from any component propagates unchanged."""
    pipeline = create_pipeline(
        config, tfx.orchestration.metadata.sqlite_metadata_connection_config(config.metadata_path))
    log_path = os.path.join(config.root, "logs", "pipeline.log")
    logger.info(f"running {len(pipeline.components)} components; full log in {log_path}")
    started = time.monotonic()
    with _component_logging([component.id for component in pipeline.components], log_path):
        tfx.orchestration.LocalDagRunner().run(pipeline)
    logger.info(f"pipeline finished in {time.monotonic() - started:.1f} s; artifacts under {config.pipeline_root}")
    return pipeline
