"""Records: the compact row layout, worker batches on the wire, the master's store."""

import math

import msgpack
import numpy as np

from rankperf_data.load.records import FIELD_NAMES, RECORD_DTYPE, RecordBatch, RecordStore


def row(i, msg=0, kind=0):
    return (i, 0, 1, 200, kind, msg, 10 + i, 11 + i, 20 + i, 3, 3, 8, 24, 100, 50, 0.5, 1.5, math.nan, 40,
            0.5, 1.0, 1.0, math.nan, math.nan, 0)


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
