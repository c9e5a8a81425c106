"""Bare Locust baseline: a FastHttpUser posting fixed body bytes, no records, no validation.

    BENCH_BODY_FILE=body.json locust -f benchmarks/bare_locustfile.py --headless -H URL -u 50 -r 50 -t 10s

The body file holds one request body exactly as rankperf sends it (the harness writes it), so
this is what Locust itself costs per request for the same bytes on the wire.
"""

import os

from locust import FastHttpUser, constant, task

BODY = open(os.environ["BENCH_BODY_FILE"], "rb").read()  # noqa: SIM115 (read once at import)
HEADERS = {"Content-Type": "application/json", "Accept": "application/json", "Accept-Encoding": "identity"}


class BareRerankUser(FastHttpUser):
    """One POST /rerank per iteration, as fast as the server answers."""

    wait_time = constant(0)

    @task
    def rerank(self) -> None:
        self.client.post("/rerank", data=BODY, headers=HEADERS)
