"""Record files: rows appended batch by batch read back exactly, message tables merged."""

from __future__ import annotations

import numpy as np

from rankperf_data.results.record_files import (
    RecordFileWriter,
    merge_records,
    messages_path,
    read_record_file,
)
from rankperf_data.results.records import RECORD_DTYPE, RecordBatch, new_record


def batch_wire(start: int, n: int, errors: dict[int, str]) -> dict:
    """A worker's batch in wire form: rows start..start+n, some with an error message."""
    batch = RecordBatch()
    for i in range(start, start + n):
        row = new_record(index=i, phase=0, worker=1, status=200 if i not in errors else 500, error_kind=0,
                         intended_ns=i, start_ns=10 * i, end_ns=10 * i + 7, passages=3, results=3, query_tokens=4,
                         passage_tokens=50, request_bytes=100, response_bytes=60)
        if i in errors:
            row = row._replace(error_msg=batch.messages.intern(errors[i]))
        batch.rows.append(row)
    return batch.take_wire()


def test_batches_appended_read_back_as_the_same_rows_and_messages(tmp_path):
    writer = RecordFileWriter(tmp_path / "process-1.records")
    assert writer.append(**batch_wire(0, 5, {1: "HTTP 500", 3: "timeout"})) == 5
    assert writer.append(**batch_wire(5, 4, {6: "timeout", 8: "HTTP 503"})) == 4
    rows, messages = read_record_file(writer.path)
    assert rows["index"].tolist() == list(range(9)) and writer.rows == 9
    assert messages == ["HTTP 500", "timeout", "HTTP 503"]  # each message once, ids file-wide
    got = {int(i): messages[m] for i, m in zip(rows["index"], rows["error_msg"], strict=True) if m >= 0}
    assert got == {1: "HTTP 500", 3: "timeout", 6: "timeout", 8: "HTTP 503"}
    assert (rows["end_ns"] - rows["start_ns"] == 7).all()


def test_a_torn_last_row_is_left_out(tmp_path):
    writer = RecordFileWriter(tmp_path / "process-0.records")
    writer.append(**batch_wire(0, 3, {}))
    with open(writer.path, "ab") as fh:
        fh.write(b"\x01" * (RECORD_DTYPE.itemsize // 2))  # a process killed mid-write
    rows, _ = read_record_file(writer.path)
    assert rows["index"].tolist() == [0, 1, 2]


def test_a_new_writer_starts_an_empty_file(tmp_path):
    path = tmp_path / "process-0.records"
    RecordFileWriter(path).append(**batch_wire(0, 3, {0: "x"}))
    RecordFileWriter(path)
    assert path.read_bytes() == b"" and messages_path(path).read_bytes() == b""


def test_merging_sources_remaps_each_message_table():
    a = (np.zeros(2, dtype=RECORD_DTYPE), ["timeout"])
    a[0]["error_msg"] = [0, -1]
    b = (np.zeros(3, dtype=RECORD_DTYPE), ["HTTP 500", "timeout"])
    b[0]["error_msg"] = [1, 0, -1]
    rows, messages = merge_records([a, b])
    assert messages == ["timeout", "HTTP 500"]
    assert rows["error_msg"].tolist() == [0, -1, 0, 1, -1]
    assert merge_records([])[0].size == 0
