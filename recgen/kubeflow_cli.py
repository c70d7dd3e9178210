"""``recgen kubeflow compile|submit|schedule``: the pipeline on Kubeflow Pipelines v2.

    recgen kubeflow compile --out FILE.yaml [pipeline options]
    recgen kubeflow submit --host URL [pipeline options] [--experiment E] [--run-name N] [--param NAME=VALUE ...]
    recgen kubeflow schedule --host URL --cron 'M H DOM MON DOW' [pipeline options] [--job-name N] ...

``compile`` writes the pipeline package (``pipelines/kubeflow_runner.py``); ``submit`` and ``schedule``
compile the same package into a temporary file and send that file through ``kfp.Client``.
"""
from __future__ import annotations

import os
import tempfile

from pipelines.kubeflow_defaults import DEFAULT_DATA, DEFAULT_IMAGE, DEFAULT_PIPELINE_ROOT
from recgen.data import DataError

PARAMETER_HELP = ("pipeline parameters: data_path, serving_base, evaluation_thresholds; "
                  "their defaults come from --data, --serving-base and --thresholds")


def _options(args):
    from components.evaluation.config import EvaluationConfig, parse_thresholds
    from pipelines.kubeflow_runner import KubeflowOptions
    try:
        evaluation = parse_thresholds(args.thresholds) if args.thresholds else EvaluationConfig()
    except ValueError as error:
        raise DataError(f"--thresholds: {error}") from None
    return KubeflowOptions(image=args.image, pipeline_root=args.pipeline_root, data_path=args.data,
                           serving_base=args.serving_base, evaluation=evaluation,
                           beam_pipeline_args=tuple(args.beam_arg))


def _compile(args) -> int:
    if not args.out.endswith((".yaml", ".yml")):
        raise DataError(f"--out {args.out}: kfp.Client reads pipeline packages named *.yaml or *.yml")
    from pipelines.kubeflow_runner import compile_pipeline
    spec = compile_pipeline(_options(args), args.out)
    print(f"wrote {args.out}: {len(spec['root']['dag']['tasks'])} tasks, image {args.image}; {PARAMETER_HELP}")
    return 0


def _send(args, send) -> int:
    """Connects, compiles into a temporary package, checks ``--param``s against it, and prints
    ``send(pipelines, package, parameters)``."""
    from pipelines.kubeflow_client import Pipelines, parameter_values
    pipelines = Pipelines(args.host)  # a dead host fails before the compile
    from components.evaluation.config import parse_thresholds
    from pipelines.kubeflow_runner import EVALUATION_THRESHOLDS, compile_pipeline
    with tempfile.TemporaryDirectory() as folder:
        package = os.path.join(folder, "recgen-pipeline.yaml")
        parameters = parameter_values(compile_pipeline(_options(args), package), args.param)
        if EVALUATION_THRESHOLDS in parameters:
            try:
                parse_thresholds(parameters[EVALUATION_THRESHOLDS])
            except ValueError as error:
                raise DataError(f"--param {EVALUATION_THRESHOLDS}: {error}") from None
        print(send(pipelines, package, parameters))
    return 0


def _submit(args) -> int:
    return _send(args, lambda pipelines, package, parameters: "created run " + pipelines.submit(
        package, parameters, args.experiment, args.run_name))


def _schedule(args) -> int:
    from pipelines.cron import seconds_first
    seconds_first(args.cron)  # before connecting and compiling
    return _send(args, lambda pipelines, package, parameters: f"created recurring run on '{args.cron}': "
                 + pipelines.schedule(package, parameters, args.experiment, args.job_name, args.cron))


def _pipeline_options(parser) -> None:
    parser.add_argument("--image", default=DEFAULT_IMAGE,
                        help=f"pipeline image built from kubeflow/Dockerfile (default {DEFAULT_IMAGE})")
    parser.add_argument("--pipeline-root", default=DEFAULT_PIPELINE_ROOT,
                        help=f"where runs write artifacts, a gs:// URI or a path the containers share "
                             f"(default the placeholder {DEFAULT_PIPELINE_ROOT}: set yours)")
    parser.add_argument("--data", default=DEFAULT_DATA,
                        help="default of the data_path parameter: data file or folder as a path inside the "
                             f"pipeline's containers (default the placeholder {DEFAULT_DATA})")
    parser.add_argument("--serving-base", help="default of the serving_base parameter: the TF Serving model base "
                                               "the Pushers write (default PIPELINE_ROOT/serving)")
    parser.add_argument("--thresholds", metavar="JSON",
                        help="default of the evaluation_thresholds parameter: blessing thresholds to change, "
                             "fields of components/evaluation/config.py EvaluationConfig, e.g. "
                             "'{\"retrieval_floors\": {\"hr@10\": 0.05}}'")
    parser.add_argument("--beam-arg", action="append", default=[],
                        help="a Beam pipeline argument, repeatable; fixed at compile time (TFX 1.16's Kubeflow "
                             "runner cannot make Beam arguments pipeline parameters)")


def _run_options(parser, name_option: str, name_default: str) -> None:
    parser.add_argument("--host", required=True, help="KFP API endpoint, e.g. http://localhost:8888")
    parser.add_argument("--experiment", default="recgen", help="KFP experiment (created if missing)")
    parser.add_argument(name_option, default=name_default)
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help=f"a pipeline parameter for this run, repeatable; {PARAMETER_HELP}")


def add_kubeflow_commands(commands) -> None:
    """Adds ``kubeflow compile|submit|schedule`` to the ``recgen`` parser's subcommands."""
    kubeflow = commands.add_parser("kubeflow", help="compile, submit or schedule the pipeline on Kubeflow "
                                                    "Pipelines v2").add_subparsers(dest="kubeflow_command",
                                                                                   required=True)
    compile_ = kubeflow.add_parser("compile", help="write the pipeline package (a KFP PipelineSpec YAML)")
    compile_.add_argument("--out", required=True, help="package file, *.yaml")
    _pipeline_options(compile_)
    compile_.set_defaults(handler=_compile)

    submit = kubeflow.add_parser("submit", help="compile and create one run through the KFP API")
    _pipeline_options(submit)
    _run_options(submit, "--run-name", "recgen")
    submit.set_defaults(handler=_submit)

    schedule = kubeflow.add_parser("schedule", help="compile and create a recurring run through the KFP API")
    _pipeline_options(schedule)
    _run_options(schedule, "--job-name", "recgen-retraining")
    schedule.add_argument("--cron", required=True, metavar="EXPR",
                          help="five cron fields (e.g. '0 3 * * *' for 03:00 daily), or six with seconds "
                               "first as KFP reads them; missed runs are not caught up")
    schedule.set_defaults(handler=_schedule)
