"""Keep Python's cyclic garbage collector out of the measurement.

A load process holds the dataset, the user objects and the libraries' state: hundreds of
thousands of long-lived objects. Left to itself, the collector's first full pass comes a fraction
of a second into the load and stops the process for ~40 ms (every request in flight gets that
added to its latency, every arrival due then is sent late). Collecting once before the load and
moving what survives to the permanent generation (``gc.freeze``) makes later passes scan only
what the run itself allocates. Each measurement (a sweep runs several in one process) first
unfreezes what the one before froze, so that nothing stays frozen, and uncollectable, for good.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect now and freeze the survivors: call before the first request, when nothing is timed."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
