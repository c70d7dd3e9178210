"""Runs and recurring runs of a compiled pipeline package, through ``kfp.Client`` (KFP API v2beta1).

Example::

    spec = compile_pipeline(KubeflowOptions(), "recgen-pipeline.yaml")
    parameters = parameter_values(spec, ["data_path=/gcs/my-bucket/data"])
    Pipelines("http://localhost:8888").submit("recgen-pipeline.yaml", parameters,
                                              experiment="recgen", run_name="retrain")
    # -> 'b9f0…'
"""
from __future__ import annotations

import contextlib
import json
import logging
import warnings
from typing import Dict, List

from pipelines.cron import seconds_first
from recgen.data import DataError

class KubeflowError(DataError):
    """A bad argument or a failed KFP request; the ``recgen`` command reports it and exits 1."""


_PARSERS = {"STRING": str, "NUMBER_INTEGER": int, "NUMBER_DOUBLE": float, "BOOLEAN": json.loads,
            "LIST": json.loads, "STRUCT": json.loads}


def parameter_values(spec: dict, assignments: List[str]) -> Dict[str, object]:
    """``NAME=VALUE`` strings as typed values of the spec's pipeline parameters."""
    declared = spec["root"].get("inputDefinitions", {}).get("parameters", {})
    values = {}
    for assignment in assignments:
        name, equals, text = assignment.partition("=")
        if not equals:
            raise KubeflowError(f"--param {assignment!r}: expected NAME=VALUE")
        if name not in declared:
            raise KubeflowError(f"--param {name}: no such pipeline parameter; "
                                f"the pipeline's are {', '.join(sorted(declared))}")
        kind = declared[name]["parameterType"]
        try:
            values[name] = _PARSERS[kind](text)
        except ValueError as error:
            raise KubeflowError(f"--param {name}: {text!r} is not a {kind}: {error}") from None
    return values


class Pipelines:
    """``kfp.Client`` for one KFP API endpoint, with a failed connection or request as a KubeflowError.

    Connecting asks the server's healthz, so a dead host fails here, before any work."""

    def __init__(self, host: str):
        import kfp
        self.host = host
        with self._errors(), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # "only works with KFP 2.0.0-beta.2 and later"
            self._client = kfp.Client(host=host)

    @contextlib.contextmanager
    def _errors(self):
        import kfp_server_api
        import urllib3
        retries = logging.getLogger("urllib3.connectionpool")
        level = retries.level
        retries.setLevel(logging.ERROR)  # its "Retrying ..." warnings repeat the error below
        try:
            yield
        except kfp_server_api.ApiException as error:
            raise KubeflowError(f"KFP API at {self.host}: HTTP {error.status} {error.reason}: "
                                f"{(error.body or '').strip()[:500]}") from None
        except urllib3.exceptions.HTTPError as error:
            reason = str(getattr(error, "reason", None) or error).split(">: ", 1)[-1]
            raise KubeflowError(f"cannot reach the KFP API at {self.host}: {reason}") from None
        except (TimeoutError, ValueError) as error:
            raise KubeflowError(f"KFP API at {self.host}: {error}") from None
        finally:
            retries.setLevel(level)

    def submit(self, package_path: str, parameters: Dict[str, object], experiment: str, run_name: str) -> str:
        """Creates one run of the package in ``experiment`` (created if missing); returns the run id."""
        with self._errors():
            return self._client.create_run_from_pipeline_package(
                package_path, arguments=parameters, run_name=run_name, experiment_name=experiment).run_id

    def schedule(self, package_path: str, parameters: Dict[str, object], experiment: str, job_name: str,
                 cron: str) -> str:
        """Creates a recurring run on ``cron`` (``pipelines/cron.py``; sent to KFP as six fields,
        seconds first) that skips missed slots instead of catching up, one run at a time; returns its id."""
        cron = seconds_first(cron)
        with self._errors():
            experiment_id = self._client.create_experiment(name=experiment).experiment_id
            return self._client.create_recurring_run(
                experiment_id=experiment_id, job_name=job_name, cron_expression=cron, params=parameters,
                pipeline_package_path=package_path, no_catchup=True, max_concurrency=1).recurring_run_id
