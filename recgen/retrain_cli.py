"""``recgen retrain`` and ``recgen schedule``: the local retraining loop (pipelines/retraining.py).

    recgen retrain --root DIR [--store URL] [--retrieval-config JSON] [--generator-config JSON]
                   [--train-steps N] [--json]
    recgen schedule --root DIR --cron EXPR [same options] [--max-cycles N]

``retrain`` runs one cycle and exits 0 when it pushed a model, refused one (not blessed) or
found no new events; 1 when the cycle failed or another one was running (its outcome line then
goes to stderr). ``schedule`` runs
cycles until interrupted; every outcome is also in ``DIR/retraining/cycles.jsonl``.
"""
from __future__ import annotations

import dataclasses
import json
import sys

from recgen.config_options import apply_changes, config_changes


def _changes(args):
    """The cycle's setting changes, checked against the config classes before any work starts
    (``--store`` too: a malformed URL would fail every cycle)."""
    from pipelines.retraining import CycleChanges
    from serving.event_store import store_backend
    from trainer import config as retrieval_config
    from trainer.generator import config as generator_config
    if args.store:
        store_backend(args.store)
    changes = {}
    for name, option, text, module, defaults in (
            ("retrieval", "--retrieval-config", args.retrieval_config, retrieval_config,
             retrieval_config.RetrievalConfig()),
            ("generator", "--generator-config", args.generator_config, generator_config,
             generator_config.GeneratorConfig())):
        changes[name] = config_changes(option, text, module.PRESETS)
        apply_changes(defaults, option, text, changes[name])
    return CycleChanges(train_steps=args.train_steps, **changes)


def _retrain(args) -> int:
    from pipelines.retraining import BUSY, FAILED, run_cycle
    outcome = run_cycle(args.root, args.store, _changes(args))
    failed = outcome.status in (FAILED, BUSY)
    print(json.dumps(dataclasses.asdict(outcome), indent=2) if args.json else outcome.describe(),
          file=sys.stderr if failed and not args.json else sys.stdout)
    return 1 if failed else 0


def _schedule(args) -> int:
    from pipelines.cron import seconds_first
    from pipelines.retrain_schedule import run_schedule
    from pipelines.retraining import run_cycle
    seconds_first(args.cron)
    changes = _changes(args)
    try:
        run_schedule(args.cron, lambda: run_cycle(args.root, args.store, changes), args.max_cycles)
    except KeyboardInterrupt:
        print("schedule stopped")
    return 0


def _add_cycle_options(parser) -> None:
    parser.add_argument("--root", required=True, help="the root of an earlier `recgen pipeline run`")
    parser.add_argument("--store", help="the service's event store (default: recgen serve's SQLite store "
                                        "under --root)")
    parser.add_argument("--retrieval-config", metavar="JSON",
                        help="retrieval settings to change for these cycles only (a preset, inline JSON or a file)")
    parser.add_argument("--generator-config", metavar="JSON",
                        help="generator settings to change for these cycles only (a preset, inline JSON or a file)")
    parser.add_argument("--train-steps", type=int, help="train for this many steps instead of epochs")


def add_retraining_commands(commands) -> None:
    """Adds ``retrain`` and ``schedule`` to the ``recgen`` sub-command parser."""
    retrain = commands.add_parser("retrain", help="one retraining cycle on the service's new events")
    _add_cycle_options(retrain)
    retrain.add_argument("--json", action="store_true", help="print the outcome as JSON")
    retrain.set_defaults(handler=_retrain)
    schedule = commands.add_parser("schedule", help="retraining cycles on a cron schedule")
    _add_cycle_options(schedule)
    schedule.add_argument("--cron", required=True,
                          help="when to run, in local time: five cron fields (e.g. '0 3 * * *' for 03:00 "
                               "daily), or six with seconds first, as `recgen kubeflow schedule` reads them")
    schedule.add_argument("--max-cycles", type=int, help="stop after this many cycles (default: never)")
    schedule.set_defaults(handler=_schedule)
