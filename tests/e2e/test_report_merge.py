"""`rankperf report RUN DIR...`: a real two-process run whose record files are split over folders
(as if collected from two hosts) is merged back into exactly the report the run wrote itself."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from e2e_support import BIN, load_records, locust_cmd, private_master, run

from rankperf_data.results.records import PHASE_PROFILING

COUNT, WARMUP = 400, 10
EXPORTS = ("profile_export.jsonl", "profile_export_aiperf.csv", "profile_export_console.txt")


@pytest.fixture(scope="module")
def two_process_run(fast_server, tmp_path_factory, clean_env):
    """One real `--processes 2` run; every test copies what it needs from it."""
    base = tmp_path_factory.mktemp("merge")
    artifacts = base / "run"
    cmd = locust_cmd(fast_server.url, "-u", "4", "-r", "4", "--request-count", str(COUNT),
                     "--warmup-request-count", str(WARMUP), "--rankings-passages-mean", "3",
                     "--random-seed", "3", "--artifact-dir", str(artifacts), "--processes", "2",
                     *private_master(), "TeiRerankUser")
    proc = run(cmd, clean_env, timeout=90)
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = sorted(p.name for p in (artifacts / "records").glob("*.records"))
    assert files == ["process-0.records", "process-1.records"], files
    return artifacts


def split(run_dir: Path, dest: Path) -> tuple[Path, Path]:
    """The master's folder with only process 0's record file (and a run.json that says it could not
    read worker 1's), and a worker host's folder with process 1's file."""
    master, host = dest / "master", dest / "host1"
    shutil.copytree(run_dir, master)
    host.mkdir()
    for name in ("process-1.records", "process-1.messages.jsonl"):
        shutil.move(master / "records" / name, host / name)
    (master / "profile_export.jsonl").unlink()  # the merge reads the record files, not the export
    meta = json.loads((master / "run.json").read_text())
    meta["notes"].append("the record file of worker 1 cannot be read here (No such file or directory): "
                         "its records are missing from this report")
    meta["partial"] = True
    (master / "run.json").write_text(json.dumps(meta))
    return master, host


def report(env: dict, *args) -> object:
    return run([str(BIN / "rankperf"), "report", *map(str, args)], env, timeout=60)


def test_split_record_files_merge_into_the_runs_own_report(two_process_run, tmp_path, clean_env):
    master, host = split(two_process_run, tmp_path)
    out = tmp_path / "out"
    proc = report(clean_env, master, host, "-o", out)
    assert proc.returncode == 0, proc.stderr
    for name in EXPORTS:
        assert (out / name).read_bytes() == (two_process_run / name).read_bytes(), name
    merged, own = (json.loads((d / "run.json").read_text()) for d in (out, two_process_run))
    assert merged["partial"] is False and merged["notes"] == own["notes"] == []
    assert merged["records"] == COUNT + WARMUP and merged["benchmark_id"] == own["benchmark_id"]
    got, want = (json.loads((d / "profile_export_aiperf.json").read_text()) for d in (out, two_process_run))
    assert got["request_latency"] == want["request_latency"] and got["request_count"]["avg"] == COUNT


def test_a_copy_given_twice_counts_once(two_process_run, tmp_path, clean_env):
    master, host = split(two_process_run, tmp_path)
    copy = tmp_path / "copy"
    shutil.copytree(host, copy)
    out = tmp_path / "out"
    proc = report(clean_env, master, host, copy, host, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert "a copy of" in proc.stderr
    assert (out / "profile_export.jsonl").read_bytes() == (two_process_run / "profile_export.jsonl").read_bytes()


def test_a_different_file_for_the_same_process_is_refused(two_process_run, tmp_path, clean_env):
    master, host = split(two_process_run, tmp_path)
    other = tmp_path / "other"
    shutil.copytree(host, other)
    data = (other / "process-1.records").read_bytes()
    (other / "process-1.records").write_bytes(data[: len(data) // 2])
    proc = report(clean_env, master, host, other, "-o", tmp_path / "out")
    assert proc.returncode == 2
    assert "process 1 also has a different record file" in proc.stderr and str(other) in proc.stderr
    assert not (tmp_path / "out").exists()


def test_rows_of_another_run_are_refused(two_process_run, tmp_path, clean_env):
    master, host = split(two_process_run, tmp_path)
    stray = tmp_path / "stray"
    stray.mkdir()
    shutil.copy(host / "process-1.records", stray / "process-7.records")  # same request indices again
    proc = report(clean_env, master, host, stray, "-o", tmp_path / "out")
    assert proc.returncode == 2
    assert "is recorded twice" in proc.stderr and "process-7.records" in proc.stderr


def test_a_missing_worker_is_named_and_the_report_partial(two_process_run, tmp_path, clean_env):
    master, _host = split(two_process_run, tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert report(clean_env, master, empty).returncode == 2  # a folder without record files: a wrong path
    alone = tmp_path / "alone"
    (alone / "records").mkdir(parents=True)
    shutil.copy(master / "records" / "process-0.records", alone / "records")
    proc = report(clean_env, master, alone, "-o", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    meta = json.loads((tmp_path / "out" / "run.json").read_text())
    assert meta["partial"] is True
    assert any("worker(s) 1 was given" in n for n in meta["notes"]), meta["notes"]
    records = load_records(tmp_path / "out")
    assert set(records["worker"].tolist()) == {0}


def test_rows_a_worker_sent_to_the_master_come_from_the_export(two_process_run, tmp_path, clean_env):
    """A worker that could not see the records folder sent its rows: the merge takes them from the
    run folder's export, so the report still holds every request exactly once."""
    master = tmp_path / "master"
    shutil.copytree(two_process_run, master)
    for name in ("process-1.records", "process-1.messages.jsonl"):
        (master / "records" / name).unlink()
    host0 = tmp_path / "host0"
    host0.mkdir()
    shutil.move(master / "records" / "process-0.records", host0)
    shutil.move(master / "records" / "process-0.messages.jsonl", host0)
    proc = report(clean_env, master, host0, "-o", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    got, want = load_records(tmp_path / "out"), load_records(two_process_run)
    assert sorted(got["index"].tolist()) == list(range(COUNT + WARMUP))
    key = np.argsort(got["index"]), np.argsort(want["index"])
    assert got[key[0]].tobytes() == want[key[1]].tobytes()  # every field of every row
    assert (got["phase"] == PHASE_PROFILING).sum() == COUNT
    assert json.loads((tmp_path / "out" / "run.json").read_text())["partial"] is False
