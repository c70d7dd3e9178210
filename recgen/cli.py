"""The ``recgen`` command line.

    recgen data inspect PATH [--format F] [--json]
    recgen data synth --out DIR [--users N --items M --seed S]
    recgen pipeline run [--data PATH] [--format F] --root DIR [--retrieval-config JSON]
                        [--generator-config JSON] [--train-steps N] [--no-explanations]
                        [--beam-arg=ARG ...]
    recgen pipeline report --root DIR [--json]
    recgen serve --root DIR ...; recgen recommend --user U ...; recgen event add|history ...
                        (recgen/serve_cli.py)
    recgen retrain --root DIR ...; recgen schedule --root DIR --cron EXPR ...
                        (recgen/retrain_cli.py)
    recgen kubeflow compile|submit|schedule ... (recgen/kubeflow_cli.py)

``recgen --log-level DEBUG|INFO|WARNING|ERROR COMMAND ...`` sets what RecGen logs on stderr
(default INFO: the progress lines). Errors in the input (a missing path, an unknown format,
too many malformed rows, data anomalies, a bad option) and any other error end the command
with exit status 1 and one line on stderr naming the cause, never a traceback.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
from typing import List, Optional

from recgen.config_options import apply_changes, changed_config
from recgen.data import FORMATS, DataError, open_source
from recgen.data.canonical import DEFAULT_MAX_MALFORMED_FRACTION
from recgen.data.synthetic import SyntheticConfig, write_generic_csv
from recgen.kubeflow_cli import add_kubeflow_commands
from recgen.progress import LOG_LEVELS, configure_logging, log_level
from recgen.retrain_cli import add_retraining_commands
from recgen.serve_cli import add_serving_commands

DEFAULT_SYNTHETIC = SyntheticConfig()
logger = logging.getLogger(__name__)


def _inspect(args) -> int:
    from recgen.data.summary import summarize
    summary = summarize(open_source(args.path, args.format), show_progress=not args.json)
    print(json.dumps(summary.to_json_dict()) if args.json else summary.to_text())
    return 0


def _synth(args) -> int:
    config = SyntheticConfig(users=args.users, items=args.items, seed=args.seed,
                             mean_events_per_user=args.events_per_user)
    out, count = write_generic_csv(config, args.out, show_progress=True)
    print(f"wrote {count:,} events of {config.users:,} users over {config.items:,} items to {out}")
    return 0


def _report(root: str) -> dict:
    from pipelines.artifacts import latest_explanations, latest_rankings
    from pipelines.recgen_pipeline import PipelineConfig
    from recgen.contracts.run_root import latest_ingestion_report
    config = PipelineConfig(data_path="", root=root)
    ingestion = latest_ingestion_report(config)
    if ingestion is None:
        raise DataError(f"no pipeline run under {root}")
    report = {"data": {key: ingestion[key] for key in
                       ("format", "events", "users", "items", "examples", "malformed_rows", "examples_uri")}}
    report.update(latest_rankings(config) or {"retrieval": None, "topk_test_path": None})
    report.update(latest_explanations(config) or {"explanations": None, "explanations_test_path": None})
    from pipelines.evaluation_report import latest_evaluations
    from pipelines.html_report import write_html_report
    report["evaluation"] = latest_evaluations(config)
    if any(report["evaluation"].values()):
        report["html_report_path"] = write_html_report(report["evaluation"], os.path.join(root, REPORT_FILE))
    return report


def _print_report(report: dict) -> None:
    data = report["data"]
    print(f"data: {data['format']}, {data['events']:,} events, {data['users']:,} users, {data['items']:,} items, "
          f"{data['malformed_rows']:,} malformed rows")
    metrics = report["retrieval"]
    if metrics:
        print(f"test split ({metrics['users']:,} users, whole catalog, history excluded):")
        for k in (10, 50, 100):
            if f"hr@{k}" in metrics:
                print(f"  @{k:<3}  HR {metrics[f'hr@{k}']:.4f}  NDCG {metrics[f'ndcg@{k}']:.4f}  "
                      f"MRR {metrics[f'mrr@{k}']:.4f}")
        print(f"top-{metrics['top_k']} lists: {report['topk_test_path']}")
    explanations = report["explanations"]
    if explanations:
        _print_text_quality(explanations)
        print(f"explanations: {report['explanations_test_path']}")
    for model_name, evaluation in report.get("evaluation", {}).items():
        if evaluation:
            _print_evaluation(model_name, evaluation)
    if report.get("html_report_path"):
        print(f"HTML report: {report['html_report_path']}")


REPORT_FILE = "report.html"
EVALUATION_COLUMNS = {"retrieval": ("hr@10", "ndcg@10", "mrr@10", "hr@100", "coverage@10", "ild@10", "novelty@10",
                                    "gini@10"),
                      "generator": ("bleu-1", "bleu-4", "rouge-l", "distinct-1", "distinct-2", "usr", "personalization",
                                    "fmr", "negative-share")}


def _print_evaluation(model_name: str, evaluation: dict) -> None:
    """The Evaluator's table (candidate, baseline, difference per slice) and its verdict; the
    impression metrics, where the data has impressions, are columns after the retrieval ones."""
    from components.evaluation.tfma_metrics import IMPRESSION_METRIC_NAMES
    from pipelines.evaluation_report import compared_with, describe_failure, outcome
    print(f"Evaluator, {model_name} (against {compared_with(evaluation)}): {outcome(evaluation)}")
    for failure in evaluation["failed_thresholds"]:
        print(f"  failed: {describe_failure(failure)}")
    extra = IMPRESSION_METRIC_NAMES if model_name == "retrieval" else ()
    columns = [column for column in (*EVALUATION_COLUMNS[model_name], *extra)
               if any(column in roles.get("candidate", {}) for roles in evaluation["slices"].values())]
    widths = [max(12, len(column) + 2) for column in columns]
    print("  " + f"{'slice':<34}{'model':<11}{'n':>6}" + "".join(f"{c:>{w}}" for c, w in zip(columns, widths)))
    for name, roles in evaluation["slices"].items():
        for role in ("candidate", "baseline", "difference"):
            if role in roles:
                count = roles.get("candidate", {}).get("example_count", 0)
                print("  " + f"{name:<34}{role:<11}{count:>6.0f}"
                      + "".join(f"{roles[role].get(c, float('nan')):>{w}.4f}" for c, w in zip(columns, widths)))


def _print_text_quality(explanations: dict) -> None:
    from components.evaluation.tfma_metrics import TEXT_NAMES
    explainers = [name for name in explanations if isinstance(explanations[name], dict)]
    pairs = explanations[explainers[0]]["pairs"]
    widths = [max(10, len(metric) + 2) for metric in TEXT_NAMES]
    print(f"test-split explanations ({pairs:,} with a reference text of {explanations['users']:,} test users):")
    print("  " + f"{'':<20}" + "".join(f"{metric:>{w}}" for metric, w in zip(TEXT_NAMES, widths)))
    for name in explainers:
        print("  " + f"{name:<20}" + "".join(f"{explanations[name][metric]:>{w}.3f}"
                                             for metric, w in zip(TEXT_NAMES, widths)))


def _pipeline_report(args) -> int:
    report = _report(args.root)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_report(report)
    return 0


def pipeline_config(args, data: str, source=None):
    """The ``PipelineConfig`` that ``recgen pipeline run``'s arguments ask for, over ``data``.

    Over a ``source`` that logs impressions (news), ``--retrieval-config`` changes the ``news``
    preset instead of the defaults (one line says so)."""
    from pipelines.recgen_pipeline import PipelineConfig
    from trainer import config as retrieval_config
    from trainer.generator import config as generator_config

    retrieval = retrieval_config.RetrievalConfig()
    if source is not None and source.has_impressions:
        logger.info(f"{source.path} ({source.format}) logs impressions: the retrieval model starts from the "
                    f"news preset {json.dumps(retrieval_config.PRESETS['news'])}")
        retrieval = retrieval.replace(**retrieval_config.PRESETS["news"])
    retrieval = changed_config(retrieval, "--retrieval-config", args.retrieval_config, retrieval_config.PRESETS)
    if args.history_length is not None:
        retrieval = apply_changes(retrieval, "--history-length", str(args.history_length),
                                  {"history_length": args.history_length})
    return PipelineConfig(data_path=os.path.abspath(data), root=args.root, data_format=args.format,
                          max_malformed_fraction=args.max_malformed_fraction,
                          beam_pipeline_args=args.beam_arg, retrieval=retrieval,
                          generator=changed_config(generator_config.GeneratorConfig(), "--generator-config",
                                                   args.generator_config, generator_config.PRESETS),
                          train_steps=args.train_steps, explain=not args.no_explanations)


def data_dependent_settings(config, source):
    """``config`` fitted to what ``source`` holds: without review text or summaries the explanation
    branch is left out (one line says why); impression logs add the impression metrics."""
    if config.explain and not source.has_text:
        logger.warning(f"{source.path} ({source.format}) has no review text or summaries to learn "
                       "explanations from: running without the explanation generator; recommendations "
                       "are served without explanations")
        config = dataclasses.replace(config, explain=False)
    if source.has_impressions and not config.evaluation.impression_metrics:
        config = dataclasses.replace(config, evaluation=dataclasses.replace(config.evaluation,
                                                                            impression_metrics=True))
    return config


def _pipeline_run(args) -> int:
    from pipelines.local_runner import run_pipeline

    data = args.data
    if data is None:
        data = os.path.join(args.root, "synthetic-data")
        logger.info(f"no --data given: generating the synthetic default into {data}")
        write_generic_csv(DEFAULT_SYNTHETIC, data, show_progress=True)
    source = open_source(data, args.format)  # fail at once on a missing path or an unknown format
    config = data_dependent_settings(pipeline_config(args, data, source), source)
    config.save()
    run_pipeline(config)
    _print_report(_report(args.root))
    if config.train:
        from pipelines.sample_recommendation import sample_recommendation
        print(sample_recommendation(config))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recgen", description=__doc__.split("\n")[0])
    parser.add_argument("--log-level", choices=LOG_LEVELS, default=log_level(),
                        help="least severe messages to print on stderr; WARNING hides the progress lines "
                             f"(default {log_level()}, or $RECGEN_LOG_LEVEL)")
    commands = parser.add_subparsers(dest="command", required=True)

    data = commands.add_parser("data", help="inspect or generate data").add_subparsers(
        dest="data_command", required=True)
    inspect = data.add_parser("inspect", help="counts, time range and malformed rows of a data set")
    inspect.add_argument("path")
    inspect.add_argument("--format", choices=sorted(FORMATS), help="default: detected")
    inspect.add_argument("--json", action="store_true", help="print one JSON object")
    inspect.set_defaults(handler=_inspect)

    synth = data.add_parser("synth", help="write the synthetic data set as generic CSV")
    synth.add_argument("--out", required=True)
    synth.add_argument("--users", type=int, default=DEFAULT_SYNTHETIC.users)
    synth.add_argument("--items", type=int, default=DEFAULT_SYNTHETIC.items)
    synth.add_argument("--seed", type=int, default=DEFAULT_SYNTHETIC.seed)
    synth.add_argument("--events-per-user", type=float, default=DEFAULT_SYNTHETIC.mean_events_per_user)
    synth.set_defaults(handler=_synth)

    pipeline = commands.add_parser("pipeline", help="run the TFX pipeline").add_subparsers(
        dest="pipeline_command", required=True)
    run = pipeline.add_parser("run", help="run the pipeline with LocalDagRunner")
    run.add_argument("--data", help="data file or folder (default: generate the synthetic data set)")
    run.add_argument("--format", choices=sorted(FORMATS), help="default: detected")
    run.add_argument("--root", required=True, help="folder for artifacts and the metadata store")
    run.add_argument("--history-length", type=int,
                     help="history items per example and read by the query tower (RetrievalConfig.history_length, "
                          "default 50)")
    run.add_argument("--max-malformed-fraction", type=float, default=DEFAULT_MAX_MALFORMED_FRACTION)
    run.add_argument("--beam-arg", action="append", default=[],
                     help="a Beam pipeline argument, repeatable (e.g. --beam-arg=--runner=FlinkRunner)")
    run.add_argument("--retrieval-config", metavar="PRESET|JSON",
                     help="retrieval model settings to change: a preset (PRESETS in trainer/config.py), "
                          "inline JSON or a JSON file (fields of RetrievalConfig), e.g. '{\"max_epochs\": 5}'")
    run.add_argument("--generator-config", metavar="PRESET|JSON",
                     help="explanation generator settings to change: a preset (PRESETS in "
                          "trainer/generator/config.py), inline JSON or a JSON file (fields of GeneratorConfig), e.g. '{\"num_layers\": 1}'")
    run.add_argument("--train-steps", type=int, help="train both models for this many steps instead of epochs")
    run.add_argument("--no-explanations", action="store_true",
                     help="leave out the explanation generator (data without review text or tags leaves "
                          "it out by itself)")
    run.set_defaults(handler=_pipeline_run)
    report = pipeline.add_parser("report", help="metrics and output paths of the latest run")
    report.add_argument("--root", required=True)
    report.add_argument("--json", action="store_true", help="print one JSON object")
    report.set_defaults(handler=_pipeline_report)
    add_serving_commands(commands)
    add_retraining_commands(commands)
    add_kubeflow_commands(commands)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    from absl import logging as absl_logging
    absl_logging.set_verbosity(absl_logging.WARNING)
    try:
        return args.handler(args)
    except (DataError, OSError) as error:  # input or an option RecGen cannot use; a file or port
        print(f"recgen: error: {error}", file=sys.stderr)
    except KeyboardInterrupt:
        print("recgen: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 -- anything else ends in one line too
        logger.debug("recgen: the traceback of the error below", exc_info=True)
        print(f"recgen: error: {type(error).__name__}: {error} "
              "(`recgen --log-level DEBUG ...` shows the traceback)", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
