"""heap.settle: one collection before the load, the survivors frozen, nothing frozen for good."""

from __future__ import annotations

import gc
import weakref

from rankperf_data.load import heap


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_settle_freezes_what_survives_and_collects_what_an_earlier_settle_froze():
    try:
        node = _Node()
        alive = weakref.ref(node)
        heap.settle()
        assert gc.get_freeze_count() > 0
        assert alive() is not None  # still referenced: frozen, kept
        del node  # now garbage, but frozen: the collector's passes do not see it
        gc.collect()
        assert alive() is not None
        heap.settle()  # the next measurement (a sweep's next point) starts: it is freed then
        assert alive() is None
    finally:
        gc.unfreeze()


def test_a_load_process_settles_the_heap_before_its_first_request():
    from rankperf_data.load.process import LoadProcess

    gc.unfreeze()
    process = LoadProcess({"values": {"request_count": 3}, "seed": 1, "workers": 1}, 0, lambda kind, data: None)
    try:
        assert gc.get_freeze_count() == 0
        process.start(users=1)
        assert gc.get_freeze_count() > 0
    finally:
        process.stop()
        gc.unfreeze()
