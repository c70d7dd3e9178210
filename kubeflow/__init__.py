"""Kubeflow Pipelines (KFP v2): the runner that compiles RecGen's pipeline, and its image.

- ``runner.py``: ``create_pipeline`` compiled with TFX's KubeflowV2DagRunner into a pipeline package;
- ``client.py``: runs and recurring runs of that package through ``kfp.Client``;
- ``Dockerfile``: the pipeline image every step runs in;
- ``serving/``: Kubernetes manifests of the serving stack.
"""
import recgen  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
