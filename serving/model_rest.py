"""TF Serving's REST API over a ``ModelManager`` (port 8501 by default).

* ``GET  /v1/models/{name}[/versions/{v}]`` - model status, as ``GetModelStatus``;
* ``GET  /v1/models/{name}[/versions/{v}]/metadata`` - signature defs, as ``GetModelMetadata``;
* ``POST /v1/models/{name}[/versions/{v}]:predict`` - ``{"signature_name": ..., "instances": [...]}``
  (row format, answered with ``predictions``) or ``{"inputs": ...}`` (columnar, answered with
  ``outputs``); strings that are not UTF-8 travel as ``{"b64": "..."}``.

Example:
    $ curl -d '{"signature_name": "item_embeddings", "inputs": {"item_ids": ["i1"]}}' \\
        http://127.0.0.1:8501/v1/models/retrieval:predict
"""
from __future__ import annotations

from google.protobuf import json_format
from tensorflow_serving.apis import get_model_metadata_pb2, get_model_status_pb2, model_pb2

from serving.errors import invalid
from serving.http_json import JsonRequest
from serving.model_manager import ModelManager
from serving.prediction_service import ModelServicer, PredictionServicer
from serving.servable import DEFAULT_SIGNATURE
from serving.tensors import from_json, json_value, rows_to_columns

_MODEL = r"/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+))?"


def _model_spec(request: JsonRequest) -> model_pb2.ModelSpec:
    spec = model_pb2.ModelSpec(name=request.match["name"])
    if request.match["version"]:
        spec.version.value = int(request.match["version"])
    return spec


def _as_json(message) -> dict:
    return json_format.MessageToDict(message, preserving_proto_field_name=True, including_default_value_fields=True)


def model_routes(manager: ModelManager) -> list:
    """The REST routes, answering through the same servicers as gRPC."""
    predictions, models = PredictionServicer(manager), ModelServicer(manager)

    def status(request):
        return _as_json(models.GetModelStatus(get_model_status_pb2.GetModelStatusRequest(
            model_spec=_model_spec(request)), None))

    def metadata(request):
        response = predictions.GetModelMetadata(get_model_metadata_pb2.GetModelMetadataRequest(
            model_spec=_model_spec(request), metadata_field=["signature_def"]), None)
        signatures = get_model_metadata_pb2.SignatureDefMap()
        response.metadata["signature_def"].Unpack(signatures)
        return {"model_spec": _as_json(response.model_spec), "metadata": {"signature_def": _as_json(signatures)}}

    def predict(request):
        spec = _model_spec(request)
        signature = request.field("signature_name") or DEFAULT_SIGNATURE
        served = manager.served(spec.name, spec.version.value if spec.HasField("version") else None)
        specs = served.input_specs(signature)
        rows = request.field("instances")
        columns = request.field("inputs")
        if (rows is None) == (columns is None):
            raise invalid("give exactly one of 'instances' (row format) or 'inputs' (columnar format)")
        if rows is not None:
            if not isinstance(rows, list):
                raise invalid("'instances' must be a list")
            columns = rows_to_columns(rows, sorted(specs))
        elif not isinstance(columns, dict):
            if len(specs) != 1:
                raise invalid(f"'inputs' must name the inputs of {signature!r}: {sorted(specs)}")
            columns = {next(iter(specs)): columns}
        unknown = sorted(set(columns) - set(specs))
        if unknown:
            raise invalid(f"{unknown} not inputs of signature {signature!r}; its inputs are {sorted(specs)}")
        inputs = {name: from_json(value, specs[name].dtype, name) for name, value in columns.items()}
        _, outputs = manager.predict(spec.name, served.version, signature, inputs)
        if rows is None:
            return {"outputs": json_value(next(iter(outputs.values()))) if len(outputs) == 1
                    else {name: json_value(value) for name, value in outputs.items()}}
        values = {name: json_value(value) for name, value in outputs.items()}
        if len(values) == 1:
            return {"predictions": next(iter(values.values()))}
        return {"predictions": [dict(zip(values, row)) for row in zip(*values.values())]}

    return [("GET", f"{_MODEL}", status), ("GET", f"{_MODEL}/metadata", metadata),
            ("POST", f"{_MODEL}:predict", predict)]
