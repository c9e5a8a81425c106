"""Synthetic runs for the report tests: records with known values, no Locust, no server."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rankperf_data.results.outcomes import ErrorKind
from rankperf_data.results.records import PHASE_PROFILING, RECORD_DTYPE
from rankperf_data.results.run import RunInfo, RunResult

T0 = 1_795_951_824_000_000_000  # epoch ns
MS = 1_000_000


def build_records(latencies_ms: Sequence[float], *, phase: int = PHASE_PROFILING, gap_ms: float = 10.0,
                  t0: int = T0, passages: int | Sequence[int] = 3, query_tokens: int = 32,
                  tokens_per_passage: int = 128, lag_ms: float = 0.0, first_index: int = 0) -> np.ndarray:
    """Successful records sent every gap_ms, each taking latencies_ms[i]."""
    n = len(latencies_ms)
    rec = np.zeros(n, dtype=RECORD_DTYPE)
    rec["index"] = first_index + np.arange(n)
    rec["phase"] = phase
    rec["status"] = 200
    rec["error_msg"] = -1
    rec["intended_ns"] = t0 + (np.arange(n) * gap_ms * MS).astype(np.int64)
    rec["start_ns"] = rec["intended_ns"] + int(lag_ms * MS)
    rec["end_ns"] = rec["start_ns"] + np.round(np.asarray(latencies_ms, dtype=np.float64) * MS).astype(np.int64)
    rec["passages"] = passages
    rec["results"] = rec["passages"]
    rec["query_tokens"] = query_tokens
    rec["passage_tokens"] = rec["passages"] * tokens_per_passage
    rec["request_bytes"] = 2048
    rec["response_bytes"] = 512
    for col in ("server_queue_ms", "server_inference_ms", "server_tokenization_ms", "ndcg", "mrr", "recall",
                "ref_tau", "ref_delta"):
        rec[col] = np.nan
    rec["server_compute_tokens"] = -1
    return rec


def fail(rec: np.ndarray, rows, kind: ErrorKind, status: int = 0, msg_id: int = -1) -> None:
    """Turn rows of rec into failures of a kind (HTTP status for ErrorKind.HTTP)."""
    rec["error_kind"][rows] = kind
    rec["status"][rows] = status
    rec["error_msg"][rows] = msg_id


def make_info(**overrides) -> RunInfo:
    base = dict(endpoint_type="hf_tei_rankings", url="http://127.0.0.1:8080", endpoint="/rerank",
                model="BAAI/bge-reranker-base", concurrency=4, request_count=100, random_seed=1,
                tokenizer="word-level estimate", dataset={"type": "synthetic", "entries": 100},
                cli_command="rankperf profile -m BAAI/bge-reranker-base --concurrency 4")
    base.update(overrides)
    return RunInfo(**base)


def make_result(records: np.ndarray, messages: Sequence[str] = (), **info_overrides) -> RunResult:
    """A RunResult whose window is the profiling records' first send to last response."""
    prof = records[records["phase"] == PHASE_PROFILING]
    start = int(prof["start_ns"].min()) if prof.size else T0
    end = int(prof["end_ns"].max()) if prof.size else T0
    return RunResult(records=records, messages=list(messages), info=make_info(**info_overrides),
                     start_ns=start, end_ns=end)


SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "aiperf_samples"  # AIPerf 0.13.0 artifacts

# Locust 2.47 --csv layout (locust-notes §1.3): a stats row and a failures file.
HEADER = ("Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,"
          "Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,"
          "99.99%,100%")
ROW = "100,4,51,50.62,1.02,100.4,512.0,90.0,3.6,51,67,76,81,91,96,99,100,100,100,100"
FAILURES = """Method,Name,Error,Occurrences,First Seen,Last Seen
POST,/rerank,LocustBadStatusCode(code=500),2,2026-11-29T11:35:07Z,2026-11-29T11:35:09Z
POST,/v2/rerank,LocustBadStatusCode(code=500),1,2026-11-29T11:35:07Z,2026-11-29T11:35:09Z
POST,/rerank,CatchResponseError('validation: 3 results for 5 passages'),1,2026-11-29T11:35:08Z,2026-11-29T11:35:08Z
"""


def write_locust_csv(tmp_path, rows, failures=FAILURES):
    assert all(len(r.split(",")) == len(HEADER.split(",")) for r in rows if "'" not in r)
    prefix = tmp_path / "locust"
    (tmp_path / "locust_stats.csv").write_text("\n".join([HEADER, *rows]) + "\n")
    if failures is not None:
        (tmp_path / "locust_failures.csv").write_text(failures)
    return prefix
