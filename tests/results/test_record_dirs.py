"""Record files gathered from several folders: each process once, repeats and strays refused."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from rankperf_data.results import record_dirs
from rankperf_data.results.record_dirs import RecordDirsError, check_unique_indices, gather
from rankperf_data.results.records import RECORD_DTYPE


def write(path, indices) -> None:
    rows = np.zeros(len(indices), dtype=RECORD_DTYPE)
    rows["index"] = indices
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(rows.tobytes())


def test_files_at_the_top_and_in_records_are_found_in_index_order(tmp_path):
    write(tmp_path / "run" / "records" / "process-2.records", [4, 5])
    write(tmp_path / "host" / "process-0.records", [0, 1])
    write(tmp_path / "host" / "process-1.records.bak", [9])  # not a record file
    (tmp_path / "host" / "notes.txt").write_text("x")
    got = gather([tmp_path / "run", tmp_path / "host"], [False, True])
    assert [(i, p.name) for i, p in got.ordered()] == [(0, "process-0.records"), (2, "process-2.records")]
    shutil.copytree(tmp_path / "host", tmp_path / "copy")
    again = gather([tmp_path / "run", tmp_path / "host", tmp_path / "copy"], [False, True, True])
    assert again.files == got.files and [p.parent.name for p, _ in again.duplicates] == ["copy"]


def test_a_folder_without_record_files_or_missing_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(RecordDirsError, match="empty: no record files"):
        gather([tmp_path / "empty"], [True])
    with pytest.raises(RecordDirsError, match="nowhere: no such directory"):
        gather([tmp_path / "nowhere"], [False])


def test_a_request_index_in_two_files_or_twice_in_one_is_refused(tmp_path, monkeypatch):
    a, b = tmp_path / "process-0.records", tmp_path / "process-1.records"
    write(a, [0, 2, 4])
    write(b, [1, 3, 5])
    check_unique_indices([a, b])
    write(b, [1, 3, 4])
    with pytest.raises(RecordDirsError, match=r"process-0.records and .*process-1.records: request index 4"):
        check_unique_indices([a, b])
    write(b, [1, 3, 1])
    with pytest.raises(RecordDirsError, match="request index 1 is recorded twice"):
        check_unique_indices([a, b])
    # a repeat across the file's read chunks is caught too
    write(b, [1, 3, 5, 7, 3])
    real = record_dirs._index_chunks
    monkeypatch.setattr(record_dirs, "_index_chunks", lambda path: real(path, rows=2))
    with pytest.raises(RecordDirsError, match="request index 3 is recorded twice"):
        check_unique_indices([a, b])
