"""A pipeline run on news in MIND's format (``tests/pipeline_runs.news_pipeline``, through
``recgen pipeline run``): whole-catalog and impression metrics, seen and unseen targets, the
three baselines beaten on the whole-catalog headline, and a served recommendation without explanations.

The run starts from the ``news`` preset by itself. Not met yet (issue 26): on the impression MRR and
nDCG@10 the content-only baseline still ranks the click above the two-tower model (AUC is won);
the strict xfail below turns red the day that changes, so the claim gets made then."""
import grpc
import pytest

from components.artifacts import ItemCatalog
from pipelines.evaluation_report import latest_evaluations
from pipelines.recgen_pipeline import PipelineConfig, create_components
from recgen.contracts import features as F
from recgen.contracts.run_root import latest_artifact_uri, latest_ingestion_report
from recgen.retrieval_baselines import ItemTexts, compare_baselines, read_split
from recgen.serve_cli import start_serve_process
from serving.event_store import default_store_path
from serving.protos import recommendation_pb2 as pb
from serving.protos import recommendation_pb2_grpc
from tests.background_runs import background_result
from trainer.catalog import read_catalog

WHOLE_CATALOG = ("hr@10", "ndcg@10")
IMPRESSION = ("impression_auc", "impression_mrr", "impression_ndcg@10")


@pytest.fixture(scope="module")
def news_run(request):
    result = background_result(request, "news_run")
    config = PipelineConfig.from_json(result["config"])
    return result["status"], config, latest_evaluations(config)["retrieval"]


@pytest.fixture(scope="module")
def baselines(news_run):
    _, config, _ = news_run
    examples_uri = latest_ingestion_report(config)["examples_uri"]
    splits = {split: read_split(examples_uri, split) for split in F.SPLITS}
    catalog = ItemTexts.from_catalog(read_catalog(latest_artifact_uri(config, ItemCatalog.TYPE_NAME)))
    return compare_baselines(splits, catalog)


def test_the_run_leaves_the_generator_out_by_itself_and_reports_impression_metrics(news_run):
    status, config, retrieval = news_run
    assert status == 0 and config.explain is False and config.evaluation.impression_metrics is True
    assert config.retrieval.history_content is True  # the news preset, under the test's own settings
    assert not [c.id for c in create_components(config) if "Generator" in c.id]
    overall = retrieval["slices"]["overall"]["candidate"]
    assert overall["impressions"] == overall["example_count"] >= 500  # every test click has its impression
    assert 0.5 < overall["impression_auc"] <= 1.0
    assert 0 < overall["impression_ndcg@5"] <= overall["impression_ndcg@10"] <= 1.0


def test_unseen_targets_are_reported_apart(news_run):
    _, _, retrieval = news_run
    slices = retrieval["slices"]
    seen, unseen = slices["target_seen=seen"]["candidate"], slices["target_seen=unseen"]["candidate"]
    assert seen["example_count"] + unseen["example_count"] == slices["overall"]["candidate"]["example_count"]
    assert unseen["example_count"] > 0 and 0 <= unseen["impression_auc"] <= 1


def _beats(news_run, baselines, metric):
    model = news_run[2]["slices"]["overall"]["candidate"][metric]
    for name, row in baselines.items():
        assert model > row["test"][metric], f"{name} ({row['setting']}): {row['test'][metric]:.4f} >= model {model:.4f}"


@pytest.mark.parametrize("metric", WHOLE_CATALOG)
def test_the_two_tower_model_beats_every_baseline_on_the_whole_catalog(news_run, baselines, metric):
    _beats(news_run, baselines, metric)


def test_the_two_tower_model_beats_every_baseline_on_impression_auc(news_run, baselines):
    _beats(news_run, baselines, "impression_auc")


@pytest.mark.xfail(strict=True, reason="issue 26 open: content-only still ranks the click higher within impressions")
@pytest.mark.parametrize("metric", [metric for metric in IMPRESSION if metric != "impression_auc"])
def test_the_two_tower_model_beats_every_baseline_on_impression_ranks(news_run, baselines, metric):
    _beats(news_run, baselines, metric)


def test_the_run_serves_recommendations_without_explanations(news_run, tmp_path):
    _, config, _ = news_run
    process, address = start_serve_process(config.root, default_store_path(config.root), str(tmp_path / "serve.log"))
    try:
        with grpc.insecure_channel(address) as channel:
            stub = recommendation_pb2_grpc.RecommendationServiceStub(channel)
            response = stub.Recommend(pb.RecommendRequest(user_id="U7", k=5, explain=True), timeout=60)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert len(response.items) == 5 and all(item.title for item in response.items)
    assert not any(item.explanation for item in response.items)
