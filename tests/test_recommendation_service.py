"""The recommendation service: stored histories, request-time events, diversity, explanations,
cold start, titles and categories, tokens and deadlines, over gRPC, REST and ``recgen
recommend``, on the synthetic run's served models."""
import json
import time
import types

import grpc
import numpy as np
import pytest

from recgen.cli import main as recgen_main
from recgen.contracts.signatures import explain_example
from recgen.sentiment import is_negative
from serving import recommender as recommender_module
from serving.protos import recommendation_pb2 as pb
from serving.protos import recommendation_pb2_grpc
from tests.serving_fixtures import (  # noqa: F401 (fixtures)
    call_rest,
    catalog_details,
    model_server,
    server_stack,
    service,
)

TOKEN = (("authorization", "Bearer secret-token"),)


def stub(server):
    return recommendation_pb2_grpc.RecommendationServiceStub(grpc.insecure_channel(server.grpc_address))


def items(response):
    return [item.item_id for item in response.items]


def rest(server, method, path, body=None, token=None):
    return call_rest(server.rest_port, path, body, method, token)


def described(response):
    """(item id, title, categories) of each recommended item."""
    return [(item.item_id, item.title, list(item.categories)) for item in response.items]


def from_catalog(catalog, item_ids):
    assert all(catalog[item][0] for item in item_ids), "every synthetic item has a title"
    return [(item, *catalog[item]) for item in item_ids]


def direct_explanations(model_server, user, item_ids, history):
    """The generator's own ``explain_examples`` texts for these items."""
    rows = [explain_example(user, item, history) for item in item_ids]
    direct = model_server.manager.served("generator").run("explain_examples", {"examples": np.array(rows, dtype=object)})
    return [text.decode() for text in direct["explanations"]]


def test_a_recorded_event_changes_the_next_recommendation(service, catalog_details):
    client = stub(service)
    before = client.Recommend(pb.RecommendRequest(user_id="user_000002", k=10), timeout=30)
    assert before.source == "model" and before.history_length > 0 and len(before.items) == 10
    assert described(before) == from_catalog(catalog_details, items(before))
    history = [e.item_id for e in client.GetHistory(pb.GetHistoryRequest(user_id="user_000002", limit=1000)).events]
    assert not set(items(before)) & set(history), "seen items must be removed"
    new_item = before.items[0].item_id
    recorded = client.RecordEvent(pb.RecordEventRequest(event=pb.Event(
        event_id="test-event-1", user_id="user_000002", item_id=new_item, type="purchase")), metadata=TOKEN)
    assert recorded.created and recorded.sequence >= 1
    after = client.Recommend(pb.RecommendRequest(user_id="user_000002", k=10), timeout=30)
    assert new_item not in items(after)
    assert items(after) != items(before)[1:] + items(after)[-1:], "the new event must move more than the removed item"
    latest = client.GetHistory(pb.GetHistoryRequest(user_id="user_000002")).events[-1]
    assert (latest.item_id, latest.type, latest.event_id) == (new_item, "purchase", "test-event-1")


def test_recording_an_event_again_is_idempotent_and_a_changed_event_is_refused(service, monkeypatch):
    client = stub(service)
    event = pb.Event(event_id="test-event-2", user_id="user_000003", item_id="item_000001", type="view")
    first = client.RecordEvent(pb.RecordEventRequest(event=event), metadata=TOKEN)
    # The event has no timestamp, so the service stamps it: a retry seconds later is the same event.
    later = time.time() + 5
    monkeypatch.setattr(recommender_module, "time", types.SimpleNamespace(time=lambda: later, monotonic=time.monotonic))
    again = client.RecordEvent(pb.RecordEventRequest(event=event), metadata=TOKEN)
    assert first.created and not again.created and again.sequence == first.sequence
    event.item_id = "item_000002"
    with pytest.raises(grpc.RpcError) as conflict:
        client.RecordEvent(pb.RecordEventRequest(event=event), metadata=TOKEN)
    assert conflict.value.code() == grpc.StatusCode.ALREADY_EXISTS and "test-event-2" in conflict.value.details()


def test_request_time_events_steer_the_list_without_being_stored(service, model_server, catalog_details):
    client = stub(service)
    plain = client.Recommend(pb.RecommendRequest(user_id="someone-new", k=10), timeout=30)
    assert plain.source == "popular_recent" and len(plain.items) == 10
    recent = [pb.Event(item_id="item_000005", timestamp=1_000), pb.Event(item_id="item_000006", timestamp=2_000)]
    steered = client.Recommend(pb.RecommendRequest(user_id="someone-new", k=10, recent_events=recent), timeout=30)
    assert steered.source == "model" and steered.history_length == 2
    assert not {"item_000005", "item_000006"} & set(items(steered))
    assert len(client.GetHistory(pb.GetHistoryRequest(user_id="someone-new")).events) == 0
    explained = client.Recommend(pb.RecommendRequest(user_id="someone-new", k=4, explain=True, diversity=0.0,
                                                     recent_events=recent), timeout=60)
    texts = [item.explanation for item in explained.items]
    assert all(texts) and explained.generator_model_version == 1
    assert texts == direct_explanations(model_server, "someone-new", items(explained), ["item_000005", "item_000006"])
    assert described(explained) == from_catalog(catalog_details, items(explained))


def test_cold_start_is_the_stores_popular_and_recent_list(service, catalog_details):
    response = stub(service).Recommend(pb.RecommendRequest(user_id="nobody-at-all", k=5), timeout=30)
    expected = service.recommender.store.popular_recent(5, service.recommender.options.popular_window_s)
    assert [(i.item_id, i.score) for i in response.items] == [(item, float(count)) for item, count in expected]
    assert response.retrieval_model_version == 0
    assert described(response) == from_catalog(catalog_details, items(response))
    assert not any(item.explanation for item in response.items)


def test_a_cold_start_user_gets_an_explanation_of_each_explained_item(service, model_server):
    response = stub(service).Recommend(pb.RecommendRequest(user_id="nobody-at-all", k=5, explain=True,
                                                           explain_count=4), timeout=60)
    assert response.source == "popular_recent" and response.generator_model_version == 1
    texts = [item.explanation for item in response.items]
    assert all(texts[:4]) and not texts[4]
    assert texts[:4] == direct_explanations(model_server, "nobody-at-all", items(response)[:4], [])


def test_no_served_explanation_argues_against_its_item(service):
    """Known, request-time-only and cold-start users alike: the synthetic reviews include negative
    ones ("disappointing ..."), the served explanations none."""
    requests = [pb.RecommendRequest(user_id=f"user_{n:06d}", k=5, explain=True, explain_count=5) for n in range(12)]
    requests.append(pb.RecommendRequest(user_id="nobody-negative", k=5, explain=True, explain_count=5))
    texts = [item.explanation for request in requests
             for item in stub(service).Recommend(request, timeout=60).items]
    assert len(texts) == 5 * len(requests) and all(texts)
    assert [text for text in texts if is_negative(text)] == []


def test_diversity_reranks_toward_less_similar_items(service, model_server):
    client = stub(service)
    relevance = client.Recommend(pb.RecommendRequest(user_id="user_000004", k=10, diversity=0.0), timeout=30)
    diverse = client.Recommend(pb.RecommendRequest(user_id="user_000004", k=10, diversity=0.7), timeout=30)
    served = model_server.manager.served("retrieval")

    def mean_similarity(response):
        vectors = served.run("item_embeddings", {"item_ids": np.array(items(response), dtype=object)})["embeddings"]
        unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        similarity = unit @ unit.T
        return (similarity.sum() - len(unit)) / (len(unit) * (len(unit) - 1))
    assert items(relevance) != items(diverse)
    assert mean_similarity(diverse) < mean_similarity(relevance)
    scores = [item.score for item in relevance.items]
    assert scores == sorted(scores, reverse=True)  # diversity 0: the model's order


def test_explanations_are_the_generators_for_the_same_user_item_and_history(service, model_server):
    response = stub(service).Recommend(pb.RecommendRequest(user_id="user_000005", k=6, explain=True,
                                                           explain_count=3), timeout=60)
    assert response.generator_model_version == 1
    explained = [item.explanation for item in response.items]
    assert all(explained[:3]) and not any(explained[3:])
    history = [e.item_id for e in service.recommender.store.history("user_000005", 50)]
    assert direct_explanations(model_server, "user_000005", items(response)[:3], history) == explained[:3]


def test_recgen_recommend_prints_titles_and_carries_titles_and_categories_in_json(service, catalog_details, capsys):
    client = ["--address", service.grpc_address, "--timeout", "60"]
    assert recgen_main(["recommend", "--user", "user_000008", "--k", "3", "--json", *client]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert [(i["item_id"], i["title"], i["categories"]) for i in answer["items"]] == \
        from_catalog(catalog_details, [i["item_id"] for i in answer["items"]])
    assert recgen_main(["recommend", "--user", "nobody-on-the-cli", "--k", "3", "--explain", *client]) == 0
    lines = capsys.readouterr().out.splitlines()
    ranked = [line for line in lines if line.lstrip()[:2] in ("1.", "2.", "3.")]
    assert len(ranked) == 3 and len(lines) == 1 + 2 * 3, "each item on its line with its explanation below"
    for line in ranked:
        item = line.split()[1]
        assert f"{item}  {catalog_details[item][0]}  (score" in line


def test_writes_need_the_token_and_reads_do_not(service):
    client = stub(service)
    event = pb.RecordEventRequest(event=pb.Event(event_id="test-event-3", user_id="u", item_id="item_000001",
                                                 type="view"))
    for metadata in ((), (("authorization", "Bearer wrong"),), (("authorization", "secret-token"),)):
        with pytest.raises(grpc.RpcError) as refused:
            client.RecordEvent(event, metadata=metadata)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert rest(service, "POST", "/v1/events", {"event_id": "e", "user_id": "u", "item_id": "i", "type": "view"})[0] \
        == 401
    assert len(client.GetHistory(pb.GetHistoryRequest(user_id="u")).events) == 0


def test_rest_answers_like_grpc(service, catalog_details):
    code, body = rest(service, "POST", "/v1/recommend", {"user_id": "user_000006", "k": 4, "diversity": 0})
    grpc_answer = stub(service).Recommend(pb.RecommendRequest(user_id="user_000006", k=4, diversity=0.0), timeout=30)
    assert code == 200 and [i["item_id"] for i in body["items"]] == items(grpc_answer)
    assert [(i["item_id"], i["title"], i["categories"]) for i in body["items"]] == \
        from_catalog(catalog_details, items(grpc_answer))
    code, cold = rest(service, "POST", "/v1/recommend", {"user_id": "nobody-over-rest", "k": 3, "explain": True})
    assert code == 200 and cold["source"] == "popular_recent"
    assert [(i["item_id"], i["title"], i["categories"]) for i in cold["items"]] == \
        from_catalog(catalog_details, [i["item_id"] for i in cold["items"]])
    assert all(i["explanation"] for i in cold["items"])
    code, recorded = rest(service, "POST", "/v1/events", {"event_id": "test-event-4", "user_id": "user_000006",
                                                          "item_id": body["items"][0]["item_id"], "type": "click",
                                                          "text": "looks great"}, token="secret-token")
    assert code == 200 and recorded["created"] is True
    code, history = rest(service, "GET", "/v1/users/user_000006/history?limit=1")
    assert code == 200 and [(e["event_id"], e["text"]) for e in history["events"]] == [("test-event-4", "looks great")]
    code, error = rest(service, "POST", "/v1/recommend", {"user_id": "user_000006", "k": "ten"})
    assert code == 400 and "k" in error["error"]


def test_every_call_has_a_deadline(service):
    recommender = service.recommender
    from serving.recommender import Deadline
    with pytest.raises(Exception) as expired:
        recommender.recommend(pb.RecommendRequest(user_id="user_000007", k=5), Deadline(-1.0))
    assert "deadline exceeded" in str(expired.value)
    assert recommender.deadline(None).expires - recommender.deadline(0.05).expires > 0.5
    with pytest.raises(grpc.RpcError) as late:
        stub(service).Recommend(pb.RecommendRequest(user_id="user_000007", k=5, explain=True), timeout=0.001)
    assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_services_bind_to_loopback_by_default(service, model_server):
    assert service.rest.server_address[0] == "127.0.0.1"
    assert service.grpc_address.startswith("127.0.0.1:") and model_server.grpc_address.startswith("127.0.0.1:")


def test_proto_modules_are_generated_from_the_proto_files(tmp_path):
    import os

    import grpc_tools
    from grpc_tools import protoc
    include = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    for proto, modules in (("recommendation", ("_pb2", "_pb2_grpc")), ("batching_parameters", ("_pb2",))):
        grpc_out = [f"--grpc_python_out={tmp_path}"] if "_pb2_grpc" in modules else []
        assert protoc.main(["protoc", "-I.", f"-I{include}", f"--python_out={tmp_path}", *grpc_out,
                            f"serving/protos/{proto}.proto"]) == 0
        for module in modules:
            name = f"{proto}{module}.py"
            with open(os.path.join("serving", "protos", name), encoding="utf-8") as committed:
                assert (tmp_path / "serving" / "protos" / name).read_text() == committed.read(), \
                    f"serving/protos/{name} is stale: run make protos"
