"""The benchmark command line: every suite documented, failures reported as exit codes."""

from __future__ import annotations

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
