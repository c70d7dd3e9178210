"""The ``recgen`` command line.

    recgen data inspect PATH [--format F] [--json]
    recgen data synth --out DIR [--users N --items M --seed S]
    recgen pipeline run [--data PATH] [--format F] --root DIR

Errors in the input (a missing path, an unknown format, too many malformed rows,
data anomalies) end the command with exit status 1 and a message naming the cause.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import List, Optional

from recgen.data import FORMATS, DataError, open_source
from recgen.data.canonical import DEFAULT_MAX_MALFORMED_FRACTION
from recgen.data.synthetic import SyntheticConfig, write_generic_csv
from recgen.progress import say

DEFAULT_SYNTHETIC = SyntheticConfig()


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


def _pipeline_run(args) -> int:
    from pipelines.artifacts import latest_ingestion_report
    from pipelines.local_runner import run_pipeline
    from pipelines.recgen_pipeline import PipelineConfig

    data = args.data
    if data is None:
        data = os.path.join(args.root, "synthetic-data")
        say(f"no --data given: generating the synthetic default into {data}")
        write_generic_csv(DEFAULT_SYNTHETIC, data, show_progress=True)
    open_source(data, args.format)  # fail at once on a missing path or an unknown format
    config = PipelineConfig(data_path=data, root=args.root, data_format=args.format,
                            history_length=args.history_length,
                            max_malformed_fraction=args.max_malformed_fraction,
                            beam_pipeline_args=args.beam_arg)
    run_pipeline(config)
    report = latest_ingestion_report(config)
    print(json.dumps({key: report[key] for key in
                      ("format", "events", "users", "items", "examples", "malformed_rows",
                       "examples_uri")}, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recgen", description=__doc__.split("\n")[0])
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
    run.add_argument("--history-length", type=int, default=50)
    run.add_argument("--max-malformed-fraction", type=float, default=DEFAULT_MAX_MALFORMED_FRACTION)
    run.add_argument("--beam-arg", action="append", default=[],
                     help="a Beam pipeline argument, repeatable (e.g. --beam-arg=--runner=FlinkRunner)")
    run.set_defaults(handler=_pipeline_run)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    from absl import logging as absl_logging
    absl_logging.set_verbosity(absl_logging.WARNING)
    try:
        return args.handler(args)
    except DataError as error:
        print(f"recgen: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
