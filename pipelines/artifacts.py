"""Finding a run's artifacts in the pipeline's ML Metadata store."""
from __future__ import annotations

import json
import os
from typing import Optional

from tfx import v1 as tfx
from tfx.orchestration import metadata

from components.example_gen.executor import INGESTION_REPORT
from pipelines.recgen_pipeline import PipelineConfig


def latest_artifact_uri(config: PipelineConfig, type_name: str) -> Optional[str]:
    """The URI of the newest artifact of ``type_name`` (e.g. ``"Examples"``), or None."""
    if not os.path.exists(config.metadata_path):
        return None
    connection = tfx.orchestration.metadata.sqlite_metadata_connection_config(config.metadata_path)
    with metadata.Metadata(connection) as store:
        artifacts = store.store.get_artifacts_by_type(type_name)
    return max(artifacts, key=lambda a: a.id).uri if artifacts else None


def latest_ingestion_report(config: PipelineConfig) -> Optional[dict]:
    """The newest ExampleGen's ingestion report: counts, examples per split, malformed rows."""
    uri = latest_artifact_uri(config, "Examples")
    if uri is None:
        return None
    with open(os.path.join(uri, INGESTION_REPORT), encoding="utf-8") as stream:
        report = json.load(stream)
    report["examples_uri"] = uri
    return report
