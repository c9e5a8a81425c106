"""`rankperf report RUN DIR...`: a real two-process run whose record files are split over folders
(as if collected from two hosts) is merged back into exactly the report the run wrote itself."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from e2e_support import (
    BIN,
    export_json,
    load_records,
    locust_cmd,
    private_master,
    received,
    run,
    wait_master_and_workers,
)

from rankperf_data.results.records import PHASE_PROFILING, RECORD_DTYPE
from rankperf_data.server.testing import start_server

COUNT, WARMUP = 400, 10
EXPORTS = ("profile_export.jsonl", "profile_export_aiperf.csv", "profile_export_console.txt")


@pytest.fixture(scope="module")
def paced_server():
    """20 ms an answer: a run lasts a few seconds, so both processes surely send."""
    with start_server(["--fixed-latency-ms", "20"]) as server:
        yield server


@pytest.fixture(scope="module")
def two_process_run(paced_server, tmp_path_factory, clean_env):
    """One real `--processes 2` run; every test copies what it needs from it."""
    base = tmp_path_factory.mktemp("merge")
    artifacts = base / "run"
    cmd = locust_cmd(paced_server.url, "-u", "4", "-r", "4", "--request-count", str(COUNT),
                     "--warmup-request-count", str(WARMUP), "--rankings-passages-mean", "3",
                     "--random-seed", "3", "--artifact-dir", str(artifacts), "--processes", "2",
                     *private_master(), "TeiRerankUser")
    proc = run(cmd, clean_env, timeout=90)
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = sorted(p.name for p in (artifacts / "records").glob("*.records"))
    assert files == ["process-0.records", "process-1.records"], files
    for name in files:  # each process sent some: the tests below split real rows
        assert (artifacts / "records" / name).stat().st_size > 0, name
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
    assert merged == own and merged["partial"] is False and merged["notes"] == []
    assert merged["records"] == COUNT + WARMUP
    got, want = (json.loads((d / "profile_export_aiperf.json").read_text()) for d in (out, two_process_run))
    assert got["input_config"]["artifacts"].pop("dir") == str(out)  # the one field that names the folder
    want["input_config"]["artifacts"].pop("dir")
    assert got == want and got["request_count"]["avg"] == COUNT


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


def test_a_worker_keeping_its_records_is_named_then_merged(paced_server, tmp_path, clean_env):
    """Master + two workers; one keeps its records on its host (--records-dir): the master's report
    names it and is partial, with every request still counted; `rankperf report RUN DIR` then
    gives the exact report with every row."""
    artifacts, kept = tmp_path / "run", tmp_path / "worker-host"
    ports = private_master()
    master = subprocess.Popen(
        locust_cmd(paced_server.url, "--master", "--expect-workers", "2", "-u", "4", "-r", "4",
                   "--request-count", str(COUNT), "--random-seed", "3", "--rankings-passages-mean", "3",
                   "--artifact-dir", str(artifacts), *ports, "TeiRerankUser"),
        env=clean_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    worker = [*locust_cmd(paced_server.url, "--worker", "--master-host", "127.0.0.1", *ports[-2:]), "TeiRerankUser"]
    workers = [subprocess.Popen(cmd, env=clean_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
               for cmd in (worker, [*worker, "--records-dir", str(kept)])]
    wait_master_and_workers(master, workers, timeout=90)
    kept_files = sorted(p.name for p in kept.glob("*.records"))
    assert len(kept_files) == 1, kept_files
    own = json.loads((artifacts / "run.json").read_text())
    kept_index = int(kept_files[0].split("-")[1].split(".")[0])
    assert own["partial"] is True
    assert any(n.startswith(f"the records of worker {kept_index} (") and str(kept) in n for n in own["notes"]), own["notes"]
    kept_rows = (kept / kept_files[0]).stat().st_size // RECORD_DTYPE.itemsize
    assert kept_rows > 0 and own["records"] == COUNT - kept_rows
    sketches = json.loads((artifacts / "rankperf_sketches.json").read_text())
    assert sketches["phases"]["profiling"]["requests"] == COUNT  # counted, though not recorded here
    p50 = sketches["phases"]["profiling"]["p50"]
    said = [n for n in own["notes"] if n.startswith("every worker's measured requests, from the merged sketches")]
    assert len(said) == 1 and f"{COUNT} requests" in said[0] and f"p50 {p50:.2f} ms" in said[0], own["notes"]
    console = (artifacts / "profile_export_console.txt").read_text()
    assert said[0] in console and "percentiles approximate: from every worker's merged latency sketches" in console
    # the table and the AIPerf export are the whole run's, from the merged sketches
    exported = export_json(artifacts)
    assert exported["request_count"]["avg"] == COUNT and exported["request_latency"]["p50"] == pytest.approx(p50)
    assert exported["rankperf"]["source"] == "sketches" and exported["rankperf"]["approximate_percentiles"] is True
    # rebuilt from the run's folder alone: the same whole-run figures (from the stored merged summaries)
    alone = tmp_path / "alone"
    proc = report(clean_env, artifacts, "-o", alone)
    assert proc.returncode == 0, proc.stderr
    rebuilt = export_json(alone)
    assert rebuilt["rankperf"]["source"] == "sketches"
    for key in ("request_count", "request_latency", "request_throughput", "benchmark_duration"):
        assert rebuilt[key] == exported[key], key
    out = tmp_path / "out"
    proc = report(clean_env, artifacts, kept, "-o", out)
    assert proc.returncode == 0, proc.stderr
    merged = json.loads((out / "run.json").read_text())
    assert merged["partial"] is False and merged["notes"] == [] and merged["records"] == COUNT
    records = load_records(out)
    assert sorted(records["index"].tolist()) == list(range(COUNT))
    assert (records["worker"] == kept_index).sum() == kept_rows


def test_records_dir_is_refused_outside_a_worker(fast_server, tmp_path, clean_env):
    before = received(fast_server)
    proc = run(locust_cmd(fast_server.url, "-u", "1", "-r", "1", "--request-count", "5",
                          "--artifact-dir", str(tmp_path / "run"), "--records-dir", str(tmp_path / "kept"),
                          "TeiRerankUser"), clean_env, timeout=60)
    assert proc.returncode == 2
    assert "rankperf: error: --records-dir keeps a worker's records on its host" in proc.stderr
    assert received(fast_server) == before and not (tmp_path / "kept").exists()
