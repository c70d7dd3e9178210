"""A gate after ExampleValidator: the run stops here, naming every anomaly, if any split has one.

ExampleValidator records anomalies but never fails; this component turns them into a
failed run so that nothing downstream (Transform, Trainer, Pusher) runs on bad data.
"""
import os

from tensorflow_data_validation.utils import anomalies_util
from tfx import v1 as tfx
from tfx.types import artifact_utils

from recgen.data.canonical import DataAnomaliesError

ANOMALIES_FILE = "SchemaDiff.pb"


def describe_anomalies(anomalies: tfx.types.standard_artifacts.ExampleAnomalies) -> list:
    """``["split 'test': feature 'timestamp': Out-of-range values: ..."]``, empty when clean."""
    found = []
    for split in artifact_utils.decode_split_names(anomalies.split_names):
        path = os.path.join(artifact_utils.get_split_uri([anomalies], split), ANOMALIES_FILE)
        proto = anomalies_util.load_anomalies_binary(path)
        for feature, info in sorted(proto.anomaly_info.items()):
            found.append(f"split '{split}': feature '{feature}': {info.short_description}: "
                         f"{info.description}")
        if proto.HasField("dataset_anomaly_info"):
            info = proto.dataset_anomaly_info
            found.append(f"split '{split}': data set: {info.short_description}: {info.description}")
    return found


@tfx.dsl.components.component
def ValidationGate(anomalies: tfx.dsl.components.InputArtifact[
        tfx.types.standard_artifacts.ExampleAnomalies]) -> None:
    """Fails the run with every anomaly named when ExampleValidator found any."""
    found = describe_anomalies(anomalies)
    if found:
        raise DataAnomaliesError("data validation failed; anomalies:\n  " + "\n  ".join(found))
