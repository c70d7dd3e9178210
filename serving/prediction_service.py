"""TF Serving's gRPC API over a ``ModelManager``: ``PredictionService`` and ``ModelService``.

Answers as ``tensorflow_model_server`` does, so the ``tensorflow-serving-api`` stubs (and any
client written for TF Serving) work unchanged: ``Predict`` (inputs as ``TensorProto``,
``output_filter``, a specific version or the latest), ``GetModelMetadata`` (the
``signature_def`` field), ``ModelService.GetModelStatus``. ``Classify``, ``Regress`` and
``MultiInference`` answer UNIMPLEMENTED: RecGen's models have no classification or regression
signatures.

Example::

    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel("127.0.0.1:8500"))
    request = predict_pb2.PredictRequest()
    request.model_spec.name, request.model_spec.signature_name = "retrieval", "serving_default"
    request.inputs["examples"].CopyFrom(tf.make_tensor_proto([serialized_example]))
    stub.Predict(request, timeout=5).outputs["item_ids"]
"""
from __future__ import annotations

from typing import Optional

import grpc
from tensorflow_serving.apis import (get_model_metadata_pb2, get_model_status_pb2, model_service_pb2,
                                     predict_pb2, prediction_service_pb2)

from serving.errors import ServingError, invalid
from serving.model_manager import ModelManager
from serving.servable import DEFAULT_SIGNATURE
from serving.tensors import decode_tensor, encode_tensor

SIGNATURE_DEF_FIELD = "signature_def"
PREDICTION_SERVICE = prediction_service_pb2.DESCRIPTOR.services_by_name["PredictionService"]
MODEL_SERVICE = model_service_pb2.DESCRIPTOR.services_by_name["ModelService"]
_STATES = {"AVAILABLE": get_model_status_pb2.ModelVersionStatus.AVAILABLE,
           "END": get_model_status_pb2.ModelVersionStatus.END}
_UNKNOWN_ERROR = 2  # tensorflow.error.Code.UNKNOWN: a load failure's code


def requested_version(model_spec) -> Optional[int]:
    """The version a ``ModelSpec`` asks for; None for the latest."""
    if model_spec.WhichOneof("version_choice") == "version_label":
        raise invalid(f"version labels are not served here (asked for {model_spec.version_label!r}); "
                      "ask for a version number or the latest")
    return model_spec.version.value if model_spec.HasField("version") else None


def _unimplemented(method: str):
    def answer(self, request, context):
        raise ServingError(grpc.StatusCode.UNIMPLEMENTED,
                           f"{method} needs a classification/regression signature; RecGen's models use Predict")
    return answer


class PredictionServicer:
    """``tensorflow.serving.PredictionService``."""

    def __init__(self, manager: ModelManager):
        self.manager = manager

    def Predict(self, request, context):  # noqa: N802 (gRPC method names)
        spec = request.model_spec
        signature = spec.signature_name or DEFAULT_SIGNATURE
        inputs = {name: decode_tensor(proto, name) for name, proto in request.inputs.items()}
        served, outputs = self.manager.predict(spec.name, requested_version(spec), signature, inputs)
        wanted = list(request.output_filter) or list(outputs)
        unknown = sorted(set(wanted) - set(outputs))
        if unknown:
            raise invalid(f"output_filter names {unknown}, not outputs of {signature!r}: {sorted(outputs)}")
        response = predict_pb2.PredictResponse()
        response.model_spec.name, response.model_spec.signature_name = served.name, signature
        response.model_spec.version.value = served.version
        for name in wanted:
            response.outputs[name].CopyFrom(encode_tensor(outputs[name]))
        return response

    def GetModelMetadata(self, request, context):  # noqa: N802
        fields = list(request.metadata_field)
        if fields != [SIGNATURE_DEF_FIELD]:
            raise invalid(f"metadata_field must be exactly [{SIGNATURE_DEF_FIELD!r}], got {fields}")
        served = self.manager.served(request.model_spec.name, requested_version(request.model_spec))
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = served.name
        response.model_spec.version.value = served.version
        signatures = get_model_metadata_pb2.SignatureDefMap()
        for name, definition in served.signature_defs.items():
            signatures.signature_def[name].CopyFrom(definition)
        response.metadata[SIGNATURE_DEF_FIELD].Pack(signatures)
        return response

    Classify = _unimplemented("Classify")
    Regress = _unimplemented("Regress")
    MultiInference = _unimplemented("MultiInference")


class ModelServicer:
    """``tensorflow.serving.ModelService``."""

    def __init__(self, manager: ModelManager):
        self.manager = manager

    def GetModelStatus(self, request, context):  # noqa: N802
        response = get_model_status_pb2.GetModelStatusResponse()
        for status in self.manager.status(request.model_spec.name, requested_version(request.model_spec)):
            entry = response.model_version_status.add()
            entry.version, entry.state = status.version, _STATES[status.state]
            entry.status.SetInParent()  # error_code OK, as TF Serving writes it
            if status.error:
                entry.status.error_code, entry.status.error_message = _UNKNOWN_ERROR, status.error
        return response

    def HandleReloadConfigRequest(self, request, context):  # noqa: N802
        raise ServingError(grpc.StatusCode.UNIMPLEMENTED,
                           "edit <model base>/models.config instead: the server re-reads it while polling")
