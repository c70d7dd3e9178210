"""Finding a run's artifacts in the pipeline's ML Metadata store: the layout of a pipeline root.

The queries take anything with a ``metadata_path`` (a ``PipelineConfig``), or a ``RunRoot`` where
only the run's directory is known. Only ``ml_metadata`` is imported, not TFX: ``recgen serve``
reads it to find the training histories, and TFX's imports would add about 25 s to its start.

Example::

    latest_ingestion_report(RunRoot("build/run"))["examples_uri"]
    # -> 'build/run/pipeline/RecGenExampleGen/examples/3'
"""
from __future__ import annotations

import json
import os
from typing import NamedTuple, Optional, Protocol, Union

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from recgen.contracts.features import INGESTION_REPORT

METADATA_FILE = "metadata.sqlite"


class RunRoot(NamedTuple):
    """A run's root directory, for the queries below when no ``PipelineConfig`` is at hand."""
    root: str

    @property
    def metadata_path(self) -> str:
        return os.path.join(self.root, METADATA_FILE)


class HasMetadata(Protocol):
    """What the queries need of a run (``pipelines.recgen_pipeline.PipelineConfig`` has it)."""
    metadata_path: str


Run = Union[HasMetadata, RunRoot]


def latest_artifact(config: Run, type_name: str, custom_property: Optional[str] = None,
                    producer: Optional[str] = None):
    """The newest MLMD artifact of ``type_name`` (e.g. ``"Examples"``), or None.

    ``custom_property`` keeps only artifacts that have it (ExampleGen's examples have
    ``source_format``; Transform's, of the same type, do not); ``producer`` only those of
    that component id (TFX writes them under ``<pipeline root>/<component id>/``).
    """
    if not os.path.exists(config.metadata_path):
        return None
    connection = metadata_store_pb2.ConnectionConfig()
    connection.sqlite.filename_uri = config.metadata_path
    connection.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    artifacts = [a for a in metadata_store.MetadataStore(connection).get_artifacts_by_type(type_name)
                 if (custom_property is None or custom_property in a.custom_properties)
                 and (producer is None or f"{os.sep}{producer}{os.sep}" in a.uri)]
    return max(artifacts, key=lambda a: a.id) if artifacts else None


def latest_artifact_uri(config: Run, type_name: str, custom_property: Optional[str] = None,
                        producer: Optional[str] = None) -> Optional[str]:
    """The URI of ``latest_artifact``, or None."""
    artifact = latest_artifact(config, type_name, custom_property, producer)
    return artifact.uri if artifact else None


def latest_ingestion_report(config: Run) -> Optional[dict]:
    """The newest ExampleGen's ingestion report: counts, examples per split, malformed rows."""
    uri = latest_artifact_uri(config, "Examples", custom_property="source_format")
    if uri is None:
        return None
    with open(os.path.join(uri, INGESTION_REPORT), encoding="utf-8") as stream:
        report = json.load(stream)
    report["examples_uri"] = uri
    return report
