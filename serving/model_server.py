"""RecGen's TF-Serving-compatible model server: gRPC (8500) and REST (8501) over a model base.

For development, tests and single CPU machines where no ``tensorflow_model_server`` binary can
be installed. It serves the same model base (``<base>/<name>/<version>/``) with the same API,
so clients and pushed models move unchanged to stock TF Serving in production
(``serving/kubernetes/``).

Example::

    server = ModelServer(ModelServerOptions(base_dir="build/run/serving"))
    server.start()
    server.grpc_address
    # -> '127.0.0.1:8500'
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Optional

from tensorflow.python.util import _pywrap_util_port

from recgen.contracts.model_base import ModelBase
from serving.batching import Batcher, BatchingOptions
from serving.grpc_handlers import add_service
from serving.model_manager import ModelManager
from serving.model_rest import model_routes
from serving.prediction_service import MODEL_SERVICE, PREDICTION_SERVICE, ModelServicer, PredictionServicer
from serving.server_pair import ServerPair

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 16 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class ModelServerOptions:
    base_dir: str
    host: str = "127.0.0.1"  # loopback unless told otherwise
    grpc_port: int = 8500  # 0: any free port
    rest_port: int = 8501
    # TF Serving polls every 1 s by default (--file_system_poll_wait_seconds); a listing of the base
    # costs next to nothing, so a new version is picked up sooner here.
    poll_seconds: float = 0.25
    batching: Optional[BatchingOptions] = BatchingOptions()  # None: every request runs alone
    threads: int = 32
    reuse_port: bool = False  # several processes on these ports (recgen serve --workers)


class ModelServer(ServerPair):
    """Both APIs over one ``ModelManager``."""

    def __init__(self, options: ModelServerOptions):
        super().__init__("model-server", options.host, options.grpc_port, options.rest_port, options.threads,
                         MAX_MESSAGE_BYTES, options.reuse_port)
        self.options = options
        self.manager = ModelManager(ModelBase(options.base_dir), options.poll_seconds,
                                    Batcher(options.batching) if options.batching else None)
        add_service(self.grpc, PREDICTION_SERVICE, PredictionServicer(self.manager))
        add_service(self.grpc, MODEL_SERVICE, ModelServicer(self.manager))

    def start(self) -> "ModelServer":
        """Loads the models, then listens; returns itself."""
        if _pywrap_util_port.IsMklEnabled():
            logger.warning("model server: warning: oneDNN is on in this process; concurrent requests at different "
                           "batch sizes can crash TF 2.16's oneDNN kernels (set TF_ENABLE_ONEDNN_OPTS=0 before "
                           "TensorFlow is imported, as `recgen serve` does)")
        self.manager.start()
        self.listen(model_routes(self.manager))
        return self

    def stop(self) -> None:
        super().stop()
        self.manager.stop()
