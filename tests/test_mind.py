"""The MIND news format, impression metrics and data without review text (issue 26).

A hand-written fixture in MIND's exact format is read back event by event; the impression
metrics are checked against hand computations; ExampleGen carries each test target's impression.
"""
import datetime
import logging

import numpy as np
import pytest
from tensorflow_model_analysis.metrics import metric_types

from components.evaluation.tfma_metrics import IMPRESSION_METRIC_NAMES, ImpressionAccuracy
from components.example_gen.executor import run_standalone
from recgen.cli import build_parser, data_dependent_settings, pipeline_config
from recgen.contracts import features as F
from recgen.contracts.signatures import IMPRESSION_SCORES_OUTPUT
from recgen.data import Event, Item, MalformedRowReport, detect_format, open_source
from recgen.data.synthetic_news import SyntheticNewsConfig, write_mind
from recgen.metrics import impression_metrics
from recgen.retrieval_baselines import read_split
from trainer.config import PRESETS, RetrievalConfig
from trainer.catalog import read_catalog

NEWS = [
    "N1\tsports\tfootball\tBig match tonight\tThe derby preview.\thttps://x/1\t[]\t[]",
    "N2\tfinance\tmarkets\tStocks rally\t\thttps://x/2\t[]\t[]",
    "N3\ttech\tgadgets\tNew phone\tA review.\thttps://x/3\t[]\t[]",
    "N4\tsports\ttennis\tFinal set\tThe last point.\thttps://x/4\t[]\t[]",
    "N5\ttravel\ttravel\tIsland trip\tSun.\thttps://x/5\t[]\t[]",
    "N6\tfood\trecipes\tSoup night\tWarm.\thttps://x/6\t[{\"Label\": \"Soup\"}]\t[]",
]
BEHAVIORS = [
    "1\tU1\t11/15/2019 8:55:22 AM\tN1 N2\tN3-1 N4-0 N5-0",
    "2\tU2\t11/15/2019 9:00:00 AM\t\tN1-1 N3-1 N6-0",
    "3\tU1\t11/14/2019 10:00:00 PM\tN1 N2\tN4-1 N5-0",  # U1's earliest impression, not their first row
    "4\tU1\t11/15/2019 9:00:00 AM\tN1 N2\tN2-x",  # malformed: a label that is neither 0 nor 1
    "5\tU1\t11/16/2019 1:00:00 PM\tN1 N2\tN5-1 N3-0",
]


def unix(text: str) -> int:
    return int(datetime.datetime.strptime(text, "%m/%d/%Y %I:%M:%S %p")
               .replace(tzinfo=datetime.timezone.utc).timestamp())


@pytest.fixture
def mind_folder(tmp_path):
    (tmp_path / "news.tsv").write_text("\n".join(NEWS) + "\n", encoding="utf-8")
    (tmp_path / "behaviors.tsv").write_text("\n".join(BEHAVIORS) + "\n", encoding="utf-8")
    return tmp_path


def test_a_mind_folder_reads_back_exactly_with_the_malformed_row_named(mind_folder):
    source = open_source(mind_folder)
    report = MalformedRowReport()
    events = list(source.events(report))
    first = unix("11/14/2019 10:00:00 PM")
    assert (source.format, source.has_text, source.has_impressions) == ("mind", False, True)
    assert events == [
        Event("U1", "N1", first - 2), Event("U1", "N2", first - 1),
        Event("U1", "N3", unix("11/15/2019 8:55:22 AM"), impression_item_ids=("N4", "N5")),
        Event("U2", "N1", unix("11/15/2019 9:00:00 AM"), impression_item_ids=("N6",)),
        Event("U2", "N3", unix("11/15/2019 9:00:00 AM"), impression_item_ids=("N6",)),
        Event("U1", "N4", first, impression_item_ids=("N5",)),
        Event("U1", "N5", unix("11/16/2019 1:00:00 PM"), impression_item_ids=("N3",)),
    ]
    assert (report.accepted, report.malformed) == (4, 1)
    bad = report.first_bad_rows[0]
    assert (bad.file, bad.line) == (str(mind_folder / "behaviors.tsv"), 4)
    assert "impressions" in bad.reason and "N2-x" in bad.reason
    items = list(source.items(report))
    assert items[0] == Item("N1", "Big match tonight", ("sports", "football"), "The derby preview.")
    assert items[1] == Item("N2", "Stocks rally", ("finance", "markets"), "")
    assert items[4].categories == ("travel",)  # a subcategory equal to its category is kept once
    assert [item.item_id for item in items] == ["N1", "N2", "N3", "N4", "N5", "N6"]


def test_example_gen_gives_the_test_target_its_impression_and_keeps_shown_only_articles(mind_folder, tmp_path):
    examples, catalog = run_standalone(str(mind_folder), str(tmp_path / "out"), max_malformed_fraction=0.5)
    tests = {row.user: row for row in read_split(examples.uri, F.TEST)}
    assert set(tests) == {"U1"}  # U2 has two clicks: train only
    assert (tests["U1"].item, tests["U1"].impression, tests["U1"].seen) == ("N5", ("N3",), ("N1", "N2", "N4", "N3"))
    (evaluated,) = read_split(examples.uri, F.EVAL)
    assert (evaluated.item, evaluated.impression) == ("N3", ("N4", "N5"))
    items = read_catalog(catalog.uri)
    assert b"N6" in items.item_ids.tolist()  # never clicked, shown in an impression: rankable


def test_the_train_and_dev_folder_pair_is_detected_and_read_train_first(tmp_path):
    folders = write_mind(SyntheticNewsConfig(users=40, articles=80, seed=2), tmp_path, pair=True)
    assert [folder.name for folder in folders] == ["MINDsynthetic_train", "MINDsynthetic_dev"]
    assert detect_format(tmp_path) == "mind"
    events = list(open_source(tmp_path).events(MalformedRowReport()))
    dev_start = min(unix(line.split("\t")[2]) for line in (folders[1] / "behaviors.tsv").read_text().splitlines())
    clicks = [event for event in events if event.impression_item_ids]
    read_dev = [event.timestamp >= dev_start for event in clicks]
    assert any(read_dev) and read_dev == sorted(read_dev)  # every train click comes before the dev ones
    users = {event.user_id for event in events}
    history_events = len(events) - len(clicks)
    assert history_events == sum(len(line.split("\t")[3].split()) for line in {
        next(line for line in (folders[0] / "behaviors.tsv").read_text().splitlines()
             + (folders[1] / "behaviors.tsv").read_text().splitlines() if line.split("\t")[1] == user)
        for user in users})  # each user's history once, from their first row


def test_impression_metrics_match_a_hand_computation_with_two_clicks():
    # order by score: N-a (1), N-b (0), N-d (0), N-c (1), N-e (0): clicks at positions 1 and 4
    figures = impression_metrics([1, 0, 1, 0, 0], [0.9, 0.8, 0.3, 0.5, 0.1])
    ideal = 1 + 1 / np.log2(3)
    assert figures["auc"] == pytest.approx(4 / 6)  # 0.9 beats all three; 0.3 beats only 0.1
    assert figures["mrr"] == pytest.approx((1 + 1 / 4) / 2)
    assert figures["ndcg@5"] == pytest.approx((1 + 1 / np.log2(5)) / ideal)
    assert figures["ndcg@10"] == figures["ndcg@5"]


def test_a_tie_never_favours_the_click():
    assert impression_metrics([1, 0], [0.5, 0.5]) == {"auc": 0.5, "mrr": 0.5, "ndcg@5": pytest.approx(1 / np.log2(3)),
                                                       "ndcg@10": pytest.approx(1 / np.log2(3))}


def test_the_tfma_metric_averages_over_examples_with_an_impression_and_skips_padding():
    (computation,) = ImpressionAccuracy().computations(model_names=[""])
    combiner = computation.combiner
    accumulator = combiner.create_accumulator()
    for scores in ([0.2, 0.9, np.nan, 0.1], [0.7, 0.1, 0.3], [0.4, np.nan]):  # the last has no impression
        element = metric_types.StandardMetricInputs(predictions={IMPRESSION_SCORES_OUTPUT: np.array(scores)})
        accumulator = combiner.add_input(accumulator, element)
    output = {key.name: value for key, value in combiner.extract_output(accumulator).items()}
    assert output["impressions"] == 2
    assert output["impression_auc"] == pytest.approx((0.5 + 1.0) / 2)
    assert output["impression_mrr"] == pytest.approx((0.5 + 1.0) / 2)
    assert set(IMPRESSION_METRIC_NAMES) < set(output)


def _write_100k(folder):
    folder.mkdir()
    rows = [f"{user}\t{item}\t{1 + (user + item) % 5}\t{880000000 + 60 * n}"
            for n, (user, item) in enumerate((u, i) for u in range(1, 9) for i in range(1, 7))]
    (folder / "u.data").write_text("\n".join(rows) + "\n")
    (folder / "u.item").write_text("".join(f"{i}|Movie {i} (1995)|01-Jan-1995||http://x|" + "|".join(
        "1" if g == i % 19 else "0" for g in range(19)) + "\n" for i in range(1, 7)), encoding="latin-1")
    return folder


def test_data_without_review_text_leaves_the_generator_out_with_one_line_saying_why(tmp_path, caplog):
    data = _write_100k(tmp_path / "ml-100k")
    args = build_parser().parse_args(["pipeline", "run", "--data", str(data), "--root", str(tmp_path / "root")])
    with caplog.at_level(logging.WARNING, logger="recgen.cli"):
        config = data_dependent_settings(pipeline_config(args, str(data)), open_source(data))
    assert config.explain is False and config.evaluation.impression_metrics is False
    (line,) = [record.getMessage() for record in caplog.records]
    assert "movielens_100k" in line and "no review text" in line and "without the explanation generator" in line


def test_data_with_text_keeps_the_generator_and_impressions_turn_on_their_metrics(tmp_path, mind_folder):
    csv = tmp_path / "csv"
    csv.mkdir()
    (csv / "events.csv").write_text("user_id,item_id,timestamp,text\nu1,i1,1,great\n")
    args = build_parser().parse_args(["pipeline", "run", "--root", str(tmp_path / "root")])
    assert data_dependent_settings(pipeline_config(args, str(csv)), open_source(csv)).explain is True
    (csv / "events.csv").write_text("user_id,item_id,timestamp\nu1,i1,1\n")
    assert data_dependent_settings(pipeline_config(args, str(csv)), open_source(csv)).explain is False
    news = data_dependent_settings(pipeline_config(args, str(mind_folder), open_source(mind_folder)),
                                   open_source(mind_folder))
    assert news.explain is False and news.evaluation.impression_metrics is True
    assert news.retrieval == RetrievalConfig().replace(**PRESETS["news"]) != RetrievalConfig()
    chosen = build_parser().parse_args(["pipeline", "run", "--root", str(tmp_path / "root"),
                                        "--retrieval-config", '{"history_content": false, "max_epochs": 2}'])
    kept = pipeline_config(chosen, str(mind_folder), open_source(mind_folder)).retrieval
    assert (kept.history_content, kept.max_epochs) == (False, 2)  # what the run asked for wins over the preset
