"""Kubeflow Pipelines (KFP v2): the runner that compiles RecGen's pipeline, and its image.

Not built yet (issue 7).
"""
