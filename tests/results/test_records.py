"""Records: the compact row layout, worker batches on the wire, the master's store."""

import math

import msgpack
import numpy as np

from rankperf_data.results.records import (
    FIELD_NAMES,
    RECORD_DTYPE,
    Judged,
    RecordBatch,
    RecordStore,
    ServerTiming,
    new_record,
)


def row(i, msg=-1, kind=0):
    return new_record(index=i, phase=0, worker=1, status=200, error_kind=kind, error_msg=msg, intended_ns=10 + i,
                      start_ns=11 + i, end_ns=20 + i, passages=3, results=3, query_tokens=8, passage_tokens=24,
                      request_bytes=100, response_bytes=50, server=ServerTiming(0.5, 1.5, math.nan, 40),
                      judged=Judged(0.5, 1.0, 1.0, math.nan, math.nan, 0))


def test_batch_travels_as_msgpack_and_lands_in_the_store_with_messages_remapped():
    store = RecordStore(capacity=2)
    for worker_msgs in (["boom"], ["other", "boom"]):
        batch = RecordBatch()
        for i, text in enumerate(worker_msgs):
            batch.rows.append(row(i, msg=batch.messages.intern(text), kind=1))
        batch.rows.append(row(99, msg=-1))
        wire = msgpack.unpackb(msgpack.packb(batch.take_wire()))  # what a ZMQ hop does
        store.extend_columns(wire["columns"], wire["messages"])
        assert len(batch) == 0
    arr = store.array()
    assert len(arr) == 5 and arr.dtype == RECORD_DTYPE
    texts = [store.messages.messages[m] if m >= 0 else None for m in arr["error_msg"]]
    assert texts == ["boom", None, "other", "boom", None]
    assert arr["end_ns"][0] - arr["start_ns"][0] == 9
    assert np.isnan(arr["server_tokenization_ms"]).all()


def test_record_is_compact():
    assert RECORD_DTYPE.itemsize <= 104  # the documented bound per record (README)
    assert len(FIELD_NAMES) == len(row(0))


def test_empty_batch_has_every_column():
    wire = RecordBatch().take_wire()
    assert set(wire["columns"]) == set(FIELD_NAMES)
    assert RecordStore().extend_columns(wire["columns"]) == 0


def test_new_record_puts_every_named_field_in_its_column():
    store = RecordStore()
    batch = RecordBatch()
    batch.rows.append(row(7, kind=5))
    batch.rows.append(new_record(index=8, phase=1, worker=2, status=0, error_kind=6, intended_ns=1, start_ns=2,
                                 end_ns=3, passages=4, results=-1, query_tokens=5, passage_tokens=6,
                                 request_bytes=7, response_bytes=0))
    store.extend_columns(batch.take_wire()["columns"])
    first, second = store.array()
    assert (first["index"], first["error_kind"], first["server_inference_ms"], first["server_compute_tokens"],
            first["mrr"], first["error_msg"]) == (7, 5, 1.5, 40, 1.0, -1)
    assert (second["phase"], second["worker"], second["passages"], second["query_tokens"],
            second["passage_tokens"], second["request_bytes"]) == (1, 2, 4, 5, 6, 7)
    # the defaults: no server timing, not judged, not compared
    assert second["server_compute_tokens"] == -1 and second["ref_flags"] == 0
    assert np.isnan([second["server_queue_ms"], second["ndcg"], second["ref_tau"]]).all()
