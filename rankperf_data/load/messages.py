"""Names of the messages rankperf's master and workers exchange over Locust's channel, declared once."""

from __future__ import annotations

# worker -> master
QUOTA = "rankperf_quota"  # ask for more indices; warmup answers finished since the last ask
RECORDS = "rankperf_records"  # a batch of records in wire form (results.records.RecordBatch.take_wire)
DONE = "rankperf_done"  # this process has finished: counts and the index ranges it gives back
USERS = "rankperf_users"  # how many users this process runs now
NEED_CONFIG = "rankperf_need_config"  # a late worker asks for the run's configuration
STOP_RUN = "rankperf_stop_run"  # stop the whole run (e.g. no TLS server at the URL)
SUMMARY = "rankperf_summary"  # numbered counters + latency sketches since the last one (load.summaries)

# master -> workers
CONFIG = "rankperf_config"  # the run's configuration (options, seed, anchor)
GRANT = "rankperf_grant"  # a range of request indices to send
CLOSE = "rankperf_close"  # no more grants: drop the indices held and not yet sent
STOP_NOW = "rankperf_stop_now"  # stop sending at once
ADOPT = "rankperf_adopt"  # send the open-loop arrivals of one more share (its worker left or has no users)
