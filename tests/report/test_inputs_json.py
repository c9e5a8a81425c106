"""finish.write_inputs: inputs.json holds the pool when there is one, else the first requests sent."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from report_factory import build_records

from rankperf_data import apis, options
from rankperf_data.dataset.config import DatasetConfig
from rankperf_data.dataset.source import build_dataset
from rankperf_data.load import finish
from rankperf_data.load.settings import LoadSettings

SMALL = {"rankings_passages_mean": 2, "rankings_passages_prompt_token_mean": 4,
         "rankings_query_prompt_token_mean": 3, "random_seed": 7, "tokenizer": "", "model": "m"}


def _values(**overrides) -> dict:
    return {**{d: o.default for d, o in options.BY_DEST.items()}, **SMALL, **overrides}


def _write(tmp_path, values: dict, records: np.ndarray) -> tuple[list[dict], str | None]:
    dataset = build_dataset(DatasetConfig.from_options(values))
    path = tmp_path / "inputs.json"
    note = finish.write_inputs(path, dataset, apis.tei, LoadSettings.from_values(values), records, [])
    return orjson.loads(path.read_bytes())["data"], note


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_the_whole_pool_is_written(tmp_path):
    # 1,500 entries: more than the per-request cap, so the old 1,000-entry cut would show
    values = _values(num_dataset_entries=1500)
    data, note = _write(tmp_path, values, build_records([1.0] * 20))
    assert len(data) == 1500 and note is None
    assert [d["session_id"] for d in data[:2]] == ["session_000000", "session_000001"]
    dataset = build_dataset(DatasetConfig.from_options(values))
    assert data[1499]["payloads"][0] == orjson.loads(apis.tei.encode(dataset.get(1499), "m", None))


def test_a_pool_above_the_hard_cap_is_cut_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setattr(finish, "POOL_INPUTS_CAP", 50)
    data, note = _write(tmp_path, _values(num_dataset_entries=80), build_records([1.0] * 20))
    assert len(data) == 50
    assert note and "first 50 of 80" in note


def test_per_request_mode_writes_the_first_requests_sent_up_to_the_cap(tmp_path):
    records = build_records([1.0] * (finish.REQUEST_INPUTS_CAP + 30), first_index=5)
    data, note = _write(tmp_path, _values(), records)
    assert len(data) == finish.REQUEST_INPUTS_CAP and note is None
    assert data[0]["session_id"] == "session_000005"
