"""The request data generator: synthetic or JSONL ranking requests, request i fixed by (seed, options, i)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rankperf_data.dataset.config import DatasetConfig
    from rankperf_data.dataset.errors import InputError
    from rankperf_data.dataset.request import RankingRequest
    from rankperf_data.dataset.source import Dataset, build_dataset

__all__ = ["Dataset", "DatasetConfig", "InputError", "RankingRequest", "build_dataset"]

_WHERE = {
    "Dataset": "source",
    "build_dataset": "source",
    "DatasetConfig": "config",
    "InputError": "errors",
    "RankingRequest": "request",
}


def __getattr__(name: str) -> Any:
    # Lazy: importing rankperf_data.dataset.request (as every API module does) stays cheap.
    if name in _WHERE:
        from importlib import import_module

        return getattr(import_module(f"rankperf_data.dataset.{_WHERE[name]}"), name)
    raise AttributeError(name)
