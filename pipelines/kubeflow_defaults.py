"""Where a compiled pipeline points unless told otherwise (no TFX import: the CLI's help reads these).

The bucket is a placeholder (bucket names cannot hold capitals): pass yours with
``--pipeline-root`` and ``--data``, or ``--param data_path=...`` per run.
"""
import recgen

DEFAULT_IMAGE = f"ghcr.io/recgen/recgen-pipeline:{recgen.__version__}"
DEFAULT_PIPELINE_ROOT = "gs://YOUR-BUCKET/recgen"
DEFAULT_DATA = "/gcs/YOUR-BUCKET/recgen/data"  # a file path inside the containers (Cloud Storage FUSE)
