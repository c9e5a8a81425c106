"""Warnings said once per run: by the process the user watches, not by every load process.

A Locust run may have a master and many workers, each building the same dataset. The master (or
the single local process, or ``rankperf profile``) warns; a worker logs the same text at debug
level, since its master has already said it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger("rankperf")

_said: set[str] = set()  # keys already said in this process
_held: list[tuple[str, int, str, tuple]] | None = None  # inside held(): (key, level, message, args)
_in_worker = False  # set by rankperf_data.load.hooks in a Locust worker


def set_worker_process(worker: bool) -> None:
    """Called by the load hooks once the process knows its Locust role (the dataset package never
    imports Locust itself): a worker logs notices at debug level."""
    global _in_worker
    _in_worker = worker


def in_worker_process() -> bool:
    """True in a Locust worker process (``--worker``, or one forked by ``--processes``)."""
    return _in_worker


def say_once(key: str, message: str, *args: object) -> None:
    """Log ``message`` as a warning the first time ``key`` comes up in this process (debug in workers)."""
    if key in _said:
        return
    _said.add(key)
    level = logging.DEBUG if in_worker_process() else logging.WARNING
    if _held is not None:
        _held.append((key, level, message, args))
        return
    log.log(level, message, *args)


@contextmanager
def held() -> Iterator[None]:
    """Notices said inside the block are logged when it ends without an error. On an error they
    are dropped (and may be said again later): the error is the one line the user needs first."""
    global _held
    if _held is not None:  # nested: the outermost block decides
        yield
        return
    _held = []
    try:
        yield
    except BaseException:
        for key, *_ in _held:
            _said.discard(key)
        raise
    else:
        for _key, level, message, args in _held:
            log.log(level, message, *args)
    finally:
        _held = None
