"""The machine-speed figures stored with every benchmark result."""

from __future__ import annotations

import json

from benchmarks import machine
from benchmarks.report import Table, write_results


def _stat(tmp_path, name: str, steal: int, busy: int):
    path = tmp_path / name
    # cpu user nice system idle iowait irq softirq steal guest guest_nice
    path.write_text(f"cpu  {busy} 0 0 {busy} 0 0 0 {steal} 0 0\ncpu0 1 0 0 1 0 0 0 0 0 0\n")
    return path


def test_steal_share_is_the_stolen_part_of_the_time_between_two_readings(tmp_path, monkeypatch):
    monkeypatch.setattr(machine, "_STAT", _stat(tmp_path, "a", steal=10, busy=100))
    before = machine._cpu_times()
    monkeypatch.setattr(machine, "_STAT", _stat(tmp_path, "b", steal=40, busy=235))
    # 135 user + 135 idle + 30 steal elapsed: 30 / 300 stolen
    assert machine.steal_share(before) == 0.1


def test_steal_share_is_unknown_without_a_readable_proc_stat(tmp_path, monkeypatch):
    monkeypatch.setattr(machine, "_STAT", tmp_path / "missing")
    assert machine.steal_share([0] * 8) is None
    (tmp_path / "garbled").write_text("intr 1 2 3\n")
    monkeypatch.setattr(machine, "_STAT", tmp_path / "garbled")
    assert machine.steal_share([0] * 8) is None


def test_cpu_model_is_read_from_cpuinfo(tmp_path, monkeypatch):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: X\nmodel name\t: Example CPU 9000\n")
    monkeypatch.setattr(machine, "_CPUINFO", info)
    assert machine.cpu_model() == "Example CPU 9000"
    monkeypatch.setattr(machine, "_CPUINFO", tmp_path / "none")
    assert machine.cpu_model() == "unknown"


def test_results_carry_the_machine_speed_and_say_it_in_the_markdown(tmp_path):
    out = write_results("speed", {"x": 1}, [Table("t", ["a"], [[1]])], {"suite": "speed"}, tmp_path)
    document = json.loads((out / "results.json").read_text())
    figures = document["machine"]
    assert figures["reference_ms"] > 0
    assert figures["steal_share"] is None or 0 <= figures["steal_share"] <= 1
    text = (out / "results.md").read_text()
    assert f"Python reference workload {figures['reference_ms']} ms" in text


def test_results_from_before_the_figures_get_no_speed_line():
    assert machine.describe({"platform": "Linux", "cpu_count": 2}) == ""
