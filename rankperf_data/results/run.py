"""What a finished (or interrupted) run hands to the reports: records plus how it was run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from rankperf_data.results.merged_summaries import MergedSummaries


@dataclass
class RunInfo:
    """How the run was configured; secrets are never stored here."""

    endpoint_type: str  # an --endpoint-type value (apis.ENDPOINT_TYPES)
    url: str  # base URL, e.g. http://127.0.0.1:8080
    endpoint: str  # path actually posted to, e.g. /rerank
    model: str
    concurrency: int  # closed loop: users; open loop: cap on requests in flight
    request_rate: float | None = None  # open loop when set
    arrival_pattern: str | None = None  # poisson | constant
    request_count: int | None = None
    warmup_request_count: int = 0
    benchmark_duration: float | None = None
    random_seed: int | None = None
    tokenizer: str | None = None  # what counted tokens ("word-level estimate" for the fallback)
    dataset: dict = field(default_factory=dict)  # type, entries, path/options, realised distribution
    goodput: dict[str, float | str] = field(default_factory=dict)  # metric tag -> ms, or 'A+B*passages' (ms)
    cli_command: str = ""
    options: dict = field(default_factory=dict)  # every rankperf option, redacted
    artifact_dir: str = ""
    workers: int = 1
    # worker index -> CPU busy fraction of its one core from its first send to its last answer
    client_cpu: dict[str, float] = field(default_factory=dict)
    # --check-consistency: reference requests sent alone before the run {"sent": n, "failed": m}
    quality_references: dict = field(default_factory=dict)
    network_rtt_ms: float | None = None  # mean TCP handshake RTT (measured or given); None: no correction
    # the master's ramp-up clock (load/ramp.py): started_ns, done_ns (0: users still starting at the
    # end), users; empty when not recorded
    ramp_up: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RunInfo:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class RunResult:
    """Every record of a run (warmup included, flagged by ``phase``) and its outcome."""

    records: np.ndarray  # rankperf_data.results.records.RECORD_DTYPE
    messages: list[str]  # error message table; records' error_msg index into it
    info: RunInfo
    start_ns: int  # profiling phase: first send (epoch ns)
    end_ns: int  # profiling phase: last response (epoch ns)
    was_cancelled: bool = False
    partial: bool = False  # records may be missing (dead worker); notes say which
    notes: list[str] = field(default_factory=list)
    server_metrics: dict | None = None  # report.server_metrics.ServerScrapes.to_dict(); None: not scraped
    # every process's merged counters and sketches, given when some workers kept their records on
    # their hosts: the report's figures then come from them (report/sketch_summary.py)
    merged_summaries: MergedSummaries | None = None
