"""The recommendation service's logic, independent of gRPC and REST: recommend, record, history.

``Recommend`` reads the user's stored history (as many recent events as the served retrieval
model reads, from its ``model_settings`` signature), adds the request's events, asks the retrieval
model for its top 100 with everything the user has seen excluded, re-ranks for diversity
(MMR over the model's item embeddings). A user with no history at all gets the store's
popular-and-recent list instead. Either list's items carry their title and categories from the
retrieval model's catalog (its ``item_details``), and the first ones are explained with the
generator (from the item alone when the user has no history). Requests and responses are the
messages of ``serving/protos/recommendation.proto``.

Example::

    recommender = Recommender(open_event_store("sqlite:///tmp/events.db"), GrpcModelClient("127.0.0.1:8500"))
    recommender.recommend(RecommendRequest(user_id="u1", k=5, explain=True), Deadline(2.0))
"""
from __future__ import annotations

import dataclasses
import hmac
import time
from typing import List, Optional, Tuple

import grpc
import numpy as np

from recgen.contracts.events import EventConflict, StoredEvent
from recgen.contracts.signatures import explain_example, query_example
from serving.errors import ServingError
from serving.event_store import EventStore
from serving.limits import ServiceLimits
from serving.mmr import mmr_order
from serving.model_client import ModelClient
from serving.protos import recommendation_pb2 as pb

MODEL, POPULAR_RECENT = "model", "popular_recent"


@dataclasses.dataclass(frozen=True)
class RecommenderOptions:
    default_k: int = 10
    default_diversity: float = 0.1  # MMR weight when a request leaves it unset
    default_explain_count: int = 5
    deadline_s: float = 1.0  # for calls without explanations, when the caller sets none or a longer one
    explain_deadline_s: float = 10.0
    popular_window_s: int = 30 * 86_400  # "recent" for the cold-start list
    token: Optional[str] = None  # when set, RecordEvent needs "Authorization: Bearer <token>"
    limits: ServiceLimits = ServiceLimits()


class Deadline:
    """Seconds left for one call; ``remaining`` raises DEADLINE_EXCEEDED once they are spent."""

    def __init__(self, seconds: float):
        self.expires = time.monotonic() + seconds

    def remaining(self, step: str) -> float:
        left = self.expires - time.monotonic()
        if left <= 0:
            raise ServingError(grpc.StatusCode.DEADLINE_EXCEEDED, f"deadline exceeded before {step}")
        return left


def _event_message(event: StoredEvent) -> pb.Event:
    return pb.Event(event_id=event.event_id, user_id=event.user_id, item_id=event.item_id,
                    timestamp=event.timestamp, type=event.event_type, text=event.text, sequence=event.sequence)


class Recommender:
    """Recommend / RecordEvent / GetHistory over an event store and a model server."""

    def __init__(self, store: EventStore, models: ModelClient, options: RecommenderOptions = RecommenderOptions()):
        self.store, self.models, self.options = store, models, options

    def deadline(self, request_seconds: Optional[float], explain: bool = False) -> Deadline:
        """The caller's deadline, capped by the service's own."""
        own = self.options.explain_deadline_s if explain else self.options.deadline_s
        return Deadline(min(own, request_seconds) if request_seconds is not None else own)

    def authorize_write(self, token: Optional[str]) -> None:
        expected = self.options.token
        if expected and not (token and hmac.compare_digest(token.encode(), expected.encode())):
            raise ServingError(grpc.StatusCode.UNAUTHENTICATED,
                               "writing events needs the header 'authorization: Bearer <token>'")

    def record_event(self, request: pb.RecordEventRequest) -> pb.RecordEventResponse:
        event, now = request.event, time.time()
        limits = self.options.limits
        limits.check_id("event.event_id", event.event_id)
        limits.check_event("event", event, now)
        stored = StoredEvent(event_id=event.event_id, user_id=event.user_id, item_id=event.item_id,
                             timestamp=event.timestamp or int(now), event_type=event.type, text=event.text)
        try:
            stored, created = self.store.record(stored, timestamp_assigned=not event.timestamp)
        except EventConflict as error:
            raise ServingError(grpc.StatusCode.ALREADY_EXISTS, str(error)) from None
        return pb.RecordEventResponse(sequence=stored.sequence, created=created)

    def history(self, request: pb.GetHistoryRequest) -> pb.GetHistoryResponse:
        limits = self.options.limits
        limits.check_id("user_id", request.user_id)
        limits.check_range("limit", request.limit, 0, limits.max_history_page)
        events = self.store.history(request.user_id, request.limit or limits.default_history_page)
        return pb.GetHistoryResponse(events=[_event_message(event) for event in events])

    def recommend(self, request: pb.RecommendRequest, deadline: Deadline) -> pb.RecommendResponse:
        options, limits, now = self.options, self.options.limits, time.time()
        limits.check_id("user_id", request.user_id)
        k = limits.check_k(request.k or options.default_k)
        limits.check_count("recent_events", len(request.recent_events), limits.max_recent_events)
        for position, event in enumerate(request.recent_events):
            limits.check_event(f"recent_events[{position}]", pb.Event(
                user_id=event.user_id or request.user_id, item_id=event.item_id,
                type=event.type or "view", text=event.text, timestamp=event.timestamp), now)
        diversity = limits.check_range("diversity", request.diversity if request.HasField("diversity")
                                       else options.default_diversity, 0, 1)
        limits.check_range("explain_count", request.explain_count, 0, limits.max_explain)
        explain_count = min(request.explain_count or options.default_explain_count, k) if request.explain else 0

        history_length = self.models.history_length(deadline.remaining("model settings"))
        stored = self.store.recent_items(request.user_id, history_length, limits.max_seen_items)
        history = self._history(stored.history, request, int(now), history_length)
        response = pb.RecommendResponse(user_id=request.user_id, history_length=len(history))
        if history:
            chosen, version = self._model_items(request.user_id, history, stored.seen, k, diversity, int(now),
                                                deadline)
            response.source, response.retrieval_model_version = MODEL, version
        else:
            chosen, response.source = self.store.popular_recent(k, options.popular_window_s), POPULAR_RECENT
        for item_id, score in chosen:
            response.items.add(item_id=item_id, score=float(score))
        if response.items:
            self._describe(response, deadline)
            if explain_count:  # a user without history: from the item's content alone
                self._explain(request.user_id, [item for item, _ in history], response, explain_count, deadline)
        return response

    def _model_items(self, user_id: str, history: List[tuple], stored_seen: List[str], k: int, diversity: float,
                     now: int, deadline: Deadline) -> Tuple[List[tuple], int]:
        """The retrieval model's top ``k`` (item id, score), re-ranked for diversity, and its version."""
        seen = list(dict.fromkeys([item for item, _ in reversed(history)] + stored_seen))
        query = query_example(user_id, [item for item, _ in history], [ts for _, ts in history],
                              now, exclude=seen[:self.options.limits.max_seen_items])
        item_ids, scores, version = self.models.recommend([query], deadline.remaining("retrieval"))
        finite = np.isfinite(scores[0])  # the model pads with -inf when fewer items remain
        candidates = list(zip(item_ids[0][finite].tolist(), scores[0][finite].tolist()))
        chosen = self._diversify(candidates, k, diversity, version, deadline)
        return [(item.decode("utf-8"), score) for item, score in chosen], version

    @staticmethod
    def _history(stored: List[tuple], request: pb.RecommendRequest, now: int, limit: int) -> List[tuple]:
        """(item id, timestamp) of stored and request-time events, oldest first, the ``limit`` latest."""
        recent = [(e.item_id, e.timestamp or now) for e in request.recent_events]
        return sorted(stored + recent, key=lambda pair: pair[1])[-limit:]

    def _diversify(self, candidates: list, k: int, diversity: float, version: int, deadline: Deadline) -> list:
        if diversity == 0.0 or len(candidates) <= k:
            return candidates[:k]
        embeddings = self.models.item_embeddings([item for item, _ in candidates], version,
                                                 deadline.remaining("diversity re-ranking"))
        order = mmr_order(np.array([score for _, score in candidates], np.float32), embeddings, k, diversity)
        return [candidates[i] for i in order]

    def _describe(self, response: pb.RecommendResponse, deadline: Deadline) -> None:
        """Each item's title and categories from the served retrieval model's catalog, in one call."""
        details = self.models.item_details([item.item_id.encode("utf-8") for item in response.items],
                                           deadline.remaining("item details"))
        for item, (title, categories) in zip(response.items, details):
            item.title = title
            item.categories.extend(categories)

    def _explain(self, user_id: str, history: List[str], response: pb.RecommendResponse, count: int,
                 deadline: Deadline) -> None:
        rows = [explain_example(user_id, item.item_id, history) for item in response.items[:count]]
        texts, version = self.models.explain(rows, deadline.remaining("explanations"))
        for item, text in zip(response.items, texts):
            item.explanation = text
        response.generator_model_version = version
