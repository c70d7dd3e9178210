"""``history_length`` has one owner, ``RetrievalConfig``: ExampleGen writes that many history
items, the export's ``model_settings`` signature carries it, and the service sends that many
recent events (asking again when a new model version answers)."""
from pipelines.recgen_pipeline import PipelineConfig, create_components
from recgen.contracts import features as F
from recgen.contracts.events import StoredEvent
from recgen.contracts.signatures import RECOMMEND_SIGNATURE, SETTINGS_SIGNATURE
from serving.event_store import open_event_store
from serving.protos import recommendation_pb2 as pb
from serving.recommender import Deadline, Recommender
from tests.fake_models import FakeModels
from trainer.config import RetrievalConfig


def recommend(recommender):
    request = pb.RecommendRequest(user_id="u1", k=1, diversity=0.0)
    return recommender.recommend(request, Deadline(5.0))


def test_the_service_sends_as_many_events_as_the_served_model_reads(tmp_path):
    models = FakeModels(history_lengths={1: 3, 2: 6})
    with open_event_store(f"sqlite://{tmp_path}/events.db") as store:
        for n in range(8):
            store.record(StoredEvent(f"e{n}", "u1", f"i{n}", 1000 + n, "click", ""))
        recommender = Recommender(store, models)
        assert recommend(recommender).history_length == 3
        assert recommend(recommender).history_length == 3
        assert len(models.asked(SETTINGS_SIGNATURE)) == 1, "the settings are asked once per version"
        models.version = 2  # a new version is pushed: the request it answers still sent 3 events
        assert recommend(recommender).history_length == 3
        assert recommend(recommender).history_length == 6
        assert len(models.asked(SETTINGS_SIGNATURE)) == 2
    assert [len(rows[0][F.HISTORY_ITEM_IDS]) for _, rows in models.asked(RECOMMEND_SIGNATURE)] == [3, 3, 3, 6]


def test_the_pipeline_config_gives_example_gen_the_retrieval_models_history_length(tmp_path):
    config = PipelineConfig(data_path=str(tmp_path), root=str(tmp_path),
                            retrieval=RetrievalConfig(history_length=7), train=False)
    example_gen = create_components(config)[0]
    assert example_gen.exec_properties["history_length"] == 7


def test_settings_saved_with_a_top_level_history_length_load_into_the_retrieval_config(tmp_path):
    saved = PipelineConfig(data_path="d", root=str(tmp_path)).to_json().replace(
        '"data_path"', '"history_length": 12,\n  "data_path"', 1)
    assert PipelineConfig.from_json(saved).retrieval.history_length == 12
