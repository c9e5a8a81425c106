"""Named, stable error kinds shared by the load generator and the reports."""

from __future__ import annotations

from enum import IntEnum


class ErrorKind(IntEnum):
    """Why a request is not a success. HTTP errors are further split by status code."""

    OK = 0
    HTTP = 1  # non-2xx status; the record's status says which
    TIMEOUT = 2
    CONNECTION = 3  # refused, reset, closed early, DNS, TLS
    INVALID_RESPONSE = 4  # 2xx but not JSON or not the API's shape
    VALIDATION = 5  # right shape, wrong content: count, index, score, order
    CANCELLED = 6  # in flight when the run was interrupted (Ctrl-C, SIGTERM, stop)


def error_label(kind: int, status: int) -> str:
    """The group name reports use: the status code for HTTP errors, else the kind's name."""
    if kind == ErrorKind.HTTP:
        return str(status)
    return ErrorKind(kind).name.lower()
