"""The ``recgen`` distribution: its packages and the ``recgen`` console script.

Dependencies are pinned in requirements.lock (installed by ``make setup``); the
ranges here are the direct dependencies, for installing RecGen into another environment.
"""
from setuptools import find_packages, setup

setup(
    name="recgen",
    version="0.1.0",
    description="A TFX platform for a real-time personalized recommender that explains its picks",
    python_requires=">=3.10,<3.11",
    # kubeflow/ holds the pipeline image, not Python: a top-level ``kubeflow`` package would shadow
    # the real ``kubeflow`` namespace packages. Its runner is pipelines/kubeflow_runner.py.
    packages=find_packages(include=["recgen", "recgen.*", "pipelines", "pipelines.*", "components",
                                    "components.*", "trainer", "trainer.*", "serving", "serving.*"]),
    package_data={"pipelines": ["schema/*.pbtxt"], "serving": ["kubernetes/*.yaml", "kubernetes/*.md"]},
    install_requires=[
        "tfx[kfp]==1.16.0", "tensorflow==2.16.2", "tf-keras==2.16.0",
        "tensorflow-recommenders==0.7.7", "keras-hub==0.25.1", "tensorflow-text==2.16.1",
        "tensorflow-serving-api==2.16.1", "kfp==2.5.0", "dill", "psutil", "croniter", "redis", "matplotlib", "vaderSentiment",
    ],
    entry_points={"console_scripts": ["recgen=recgen.cli:main"]},
)
