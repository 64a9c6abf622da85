"""The benchmark command line: every suite documented, failures reported as exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from benchmarks.cli import SUITES, build_parser, main
from benchmarks.runtime import REPO_ROOT


def test_every_suite_is_documented_in_the_readme():
    readme = (REPO_ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    for suite in SUITES:
        assert f"## Suite `{suite}`" in readme
        assert f"graphmem bench {suite}" in readme


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_each_suite_parses_its_defaults(suite):
    args = build_parser().parse_args([suite])
    assert args.suite == suite and callable(args.handler)


def test_missing_data_is_an_exit_code_with_the_path(tmp_path, capsys):
    missing = tmp_path / "absent.json"
    assert main(["locomo", "--data", str(missing), "--embedder", "hash"]) == 2
    assert "absent.json" in capsys.readouterr().err


def test_unknown_suite_is_refused():
    with pytest.raises(SystemExit):
        main(["nonsense"])


def test_llm_extraction_without_an_endpoint_is_a_setup_error(tmp_path, monkeypatch, capsys):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "mini.json"
    data.write_text(
        json.dumps(
            [
                {
                    "sample_id": "conv-x",
                    "conversation": {
                        "speaker_a": "Ann",
                        "speaker_b": "Bob",
                        "session_1_date_time": "1:56 pm on 8 May, 2023",
                        "session_1": [{"speaker": "Ann", "dia_id": "D1:1", "text": "Hi"}],
                    },
                    "qa": [{"question": "q", "answer": "a", "evidence": ["D1:1"], "category": 4}],
                }
            ]
        ),
        encoding="utf-8",
    )
    argv = ["locomo", "--data", str(data), "--embedder", "hash", "--extract", "llm"]
    assert main([*argv, "--workdir", str(tmp_path / "db"), "--out", str(tmp_path / "out")]) == 2
    assert "OPENAI_API_KEY" in capsys.readouterr().err


def test_the_installed_script_runs_the_runner_from_any_folder(tmp_path):
    """``graphmem bench`` as the README gives it: the console script puts only its own
    folder on the path, so it found no ``benchmarks`` package and refused to run."""
    script = shutil.which("graphmem")
    assert script, "the install (README) puts a graphmem script on PATH"
    missing = tmp_path / "absent.json"
    done = subprocess.run([script, "bench", "locomo", "--data", str(missing), "--embedder", "hash"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "absent.json" in done.stderr and "lives in the repository" not in done.stderr


def test_graphmem_bench_help_reaches_the_runner(capsys):
    """A leading option went to graphmem's own parser, which refused it as unrecognised."""
    from graphmem.cli import main as graphmem_main

    with pytest.raises(SystemExit) as done:
        graphmem_main(["bench", "--help"])
    assert done.value.code == 0
    assert "SUITE" in capsys.readouterr().out
    with pytest.raises(SystemExit) as refused:  # other commands still refuse what they lack
        graphmem_main(["search", "--no-such-option", "q"])
    assert refused.value.code == 2
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err
