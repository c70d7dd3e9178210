"""Every recommended item carries its catalog title and categories and, when asked, an
explanation: for known users, users with only request-time events and cold-start users (the
service's logic over fake models, ``tests/fake_models.py``)."""
import pytest

from recgen.contracts import features as F
from recgen.contracts.events import StoredEvent
from recgen.contracts.signatures import EXPLAIN_SIGNATURE, ITEM_DETAILS_SIGNATURE
from serving.event_store import open_event_store
from serving.model_client import ItemDetails
from serving.protos import recommendation_pb2 as pb
from serving.recommender import Deadline, Recommender
from tests.fake_models import CATALOG, FakeModels


@pytest.fixture
def store(tmp_path):
    with open_event_store(f"sqlite://{tmp_path}/events.db") as opened:
        yield opened


def record(store, user, items):
    for n, item in enumerate(items):
        store.record(StoredEvent(f"{user}-{n}", user, item, 1000 + n, "click", ""))


def details(response):
    return [(item.item_id, item.title, list(item.categories)) for item in response.items]


def expected_details(item_ids):
    return [(item, *CATALOG.get(item, ("", []))) for item in item_ids]


def recommend(store, models, **fields):
    request = pb.RecommendRequest(k=3, diversity=0.0, **fields)
    return Recommender(store, models).recommend(request, Deadline(5.0))


def test_model_items_carry_the_catalogs_title_and_categories_and_unknown_ids_get_none(store):
    record(store, "u1", ["i2"])
    models = FakeModels()
    response = recommend(store, models, user_id="u1")
    assert response.source == "model" and [i.item_id for i in response.items] == ["i1", "i3", "i9"]
    assert details(response) == expected_details(["i1", "i3", "i9"])
    assert details(response)[-1] == ("i9", "", [])
    assert models.asked(ITEM_DETAILS_SIGNATURE) == [(None, [b"i1", b"i3", b"i9"])], \
        "one call for the whole list, to the latest version"


def test_a_cold_start_user_gets_the_popular_list_with_titles_and_explanations(store):
    record(store, "u1", ["i2", "i3", "i2"])
    record(store, "u2", ["i2", "i404"])
    models = FakeModels()
    response = recommend(store, models, user_id="nobody", explain=True)
    assert response.source == "popular_recent" and response.retrieval_model_version == 0
    assert details(response) == expected_details(["i2", "i3", "i404"])
    assert len(models.asked(ITEM_DETAILS_SIGNATURE)) == 1
    assert all(item.explanation for item in response.items)
    assert [item.explanation for item in response.items] == [f"{i} for nobody after " for i in ("i2", "i3", "i404")]
    (_, rows), = models.asked(EXPLAIN_SIGNATURE)
    assert all(F.HISTORY_ITEM_IDS not in row or not row[F.HISTORY_ITEM_IDS] for row in rows), "an empty history"
    assert response.generator_model_version == 1


def test_a_user_with_only_request_time_events_gets_explanations_from_them(store):
    response = recommend(store, FakeModels(), user_id="someone-new", explain=True, explain_count=2,
                         recent_events=[pb.Event(item_id="i1", timestamp=10), pb.Event(item_id="i2", timestamp=20)])
    assert response.source == "model" and response.history_length == 2
    assert details(response) == expected_details(["i3", "i9"])
    assert [item.explanation for item in response.items] == ["i3 for someone-new after i1,i2",
                                                             "i9 for someone-new after i1,i2"]


def test_only_the_first_explain_count_items_are_explained(store):
    record(store, "u1", ["i3"])
    response = recommend(store, FakeModels(), user_id="u1", explain=True, explain_count=1)
    assert [bool(item.explanation) for item in response.items] == [True, False, False]


def test_an_empty_store_gives_a_cold_start_user_an_empty_list_without_model_calls(store):
    models = FakeModels()
    response = recommend(store, models, user_id="nobody", explain=True)
    assert not response.items and not models.asked(ITEM_DETAILS_SIGNATURE) and not models.asked(EXPLAIN_SIGNATURE)


def test_the_model_client_reads_titles_and_drops_category_padding():
    assert FakeModels().item_details([b"i1", b"i3", b"nope"], timeout=1.0) == [
        ItemDetails("Blue Guitar", ["Guitars", "Acoustic"]), ItemDetails("Tuner", []), ItemDetails("", [])]
