"""Every ``recgen`` subcommand given a bad argument exits non-zero with one line on stderr naming
the cause, never a traceback; and ``--log-level`` decides which of RecGen's lines are printed."""
import logging
import socket
import subprocess
import sys

import pytest

from recgen import cli
from recgen.data.synthetic import SyntheticConfig, write_generic_csv
from recgen.progress import LOG_LEVEL_VARIABLE, configure_logging, log_level


@pytest.fixture(autouse=True)
def same_log_level_after(monkeypatch):
    """``main`` sets the level of RecGen's loggers and $RECGEN_LOG_LEVEL; later tests keep theirs."""
    level = log_level()
    monkeypatch.setenv(LOG_LEVEL_VARIABLE, level)
    yield
    configure_logging(level)


def closed_port() -> int:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def assert_one_line_error(code: int, captured, *causes: str, prefix: str = "recgen: error: ") -> None:
    assert code != 0
    assert "Traceback" not in captured.err + captured.out
    errors = [line for line in captured.err.splitlines() if line.startswith(prefix)]
    assert len(errors) == 1, captured.err
    assert all(cause in errors[0] for cause in causes), errors[0]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> str:
    out, _ = write_generic_csv(SyntheticConfig(users=5, items=20), str(tmp_path_factory.mktemp("data")))
    return str(out)


def bad_arguments(tmp, data):
    """(arguments, words the error line must hold) per subcommand."""
    missing = str(tmp / "missing")
    (tmp / "a-file").write_text("")
    (tmp / "batching.txt").write_text("max_batch_size { value: 'many' }")
    dead = f"127.0.0.1:{closed_port()}"
    return [
        (["data", "inspect", missing], ["missing", "no such file or directory"]),
        (["data", "synth", "--out", str(tmp / "a-file" / "out"), "--users", "2"], ["a-file"]),
        (["pipeline", "run", "--data", missing, "--root", str(tmp / "root")], ["no such file or directory"]),
        (["pipeline", "run", "--data", data, "--root", str(tmp / "root"), "--retrieval-config", "{bad json"],
         ["--retrieval-config", "Expecting property name"]),
        (["pipeline", "report", "--root", missing], ["no pipeline run under"]),
        (["serve", "--root", str(tmp / "root"), "--store", "mysql://x"], ["unsupported event store URL 'mysql://x'"]),
        (["serve", "--root", str(tmp / "root"), "--store", str(tmp / "a-file" / "events.db")], ["event store", "a-file"]),
        (["serve", "--root", str(tmp / "root"), "--batching-parameters", str(tmp / "batching.txt")],
         ["batching parameters file", "batching.txt"]),
        (["serve", "--root", str(tmp / "root"), "--workers", "0"], ["--workers must be at least 1"]),
        (["recommend", "--user", "u1", "--address", dead], ["Recommend at", dead, "UNAVAILABLE"]),
        (["event", "add", "--user", "u1", "--item", "i1", "--address", dead], ["RecordEvent at", "UNAVAILABLE"]),
        (["event", "history", "--user", "u1", "--address", dead], ["GetHistory at", "UNAVAILABLE"]),
        (["retrain", "--root", str(tmp / "root"), "--store", "mysql://x"], ["unsupported event store URL"]),
        (["retrain", "--root", str(tmp / "root"), "--generator-config", "[1, 2]"], ["--generator-config"]),
        (["schedule", "--root", str(tmp / "root"), "--cron", "every day"], ["every day"]),
        (["kubeflow", "compile", "--out", str(tmp / "spec.txt")], ["*.yaml"]),
        (["kubeflow", "compile", "--out", str(tmp / "spec.yaml"), "--thresholds", "{bad"], ["--thresholds"]),
        (["kubeflow", "submit", "--host", f"http://{dead}"], ["cannot reach the KFP API"]),
        (["kubeflow", "schedule", "--host", f"http://{dead}", "--cron", "0 0 25 * * *"], ["not a cron expression"]),
    ]


def test_every_subcommand_reports_a_bad_argument_in_one_line(tmp_path, data, capsys):
    for arguments, causes in bad_arguments(tmp_path, data):
        code = cli.main(arguments)
        assert_one_line_error(code, capsys.readouterr(), *causes)


def test_a_failed_retraining_cycle_says_why_on_stderr(tmp_path, capsys):
    code = cli.main(["retrain", "--root", str(tmp_path / "never-trained")])
    assert_one_line_error(code, capsys.readouterr(), "no saved pipeline settings", prefix="failed: ")


def test_an_unexpected_error_is_one_line_and_debug_shows_its_traceback(monkeypatch, capsys):
    def broken(args):
        raise RuntimeError("the disk caught fire")
    monkeypatch.setattr(cli, "_inspect", broken)
    assert_one_line_error(cli.main(["data", "inspect", "x"]), capsys.readouterr(),
                          "RuntimeError: the disk caught fire", "--log-level DEBUG")
    assert cli.main(["--log-level", "DEBUG", "data", "inspect", "x"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "the disk caught fire" in err.splitlines()[-1]


def test_the_installed_command_reports_a_bad_store_url_without_a_traceback(tmp_path):
    """The whole entry point in its own process: logging set up, TensorFlow imported, no handler left out."""
    done = subprocess.run([sys.executable, "-m", "recgen.cli", "serve", "--root", str(tmp_path), "--store",
                           "mysql://x"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1] == ("recgen: error: unsupported event store URL 'mysql://x': "
                                            "use sqlite:///path/events.db or redis://host:port/db")


def test_log_level_warning_hides_the_progress_lines_and_info_shows_them(tmp_path, capsys):
    assert cli.main(["--log-level", "WARNING", "data", "synth", "--out", str(tmp_path / "quiet"), "--users", "3"]) == 0
    assert "generating synthetic events" not in capsys.readouterr().err
    assert logging.getLogger("serving.model_server").getEffectiveLevel() == logging.WARNING
    assert cli.main(["--log-level", "INFO", "data", "synth", "--out", str(tmp_path / "loud"), "--users", "3"]) == 0
    assert "generating synthetic events: " in capsys.readouterr().err
