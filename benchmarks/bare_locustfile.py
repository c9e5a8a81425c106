"""Bare Locust baseline: a FastHttpUser posting fixed body bytes, no records, no validation.

    BENCH_BODY_FILE=body.json locust -f benchmarks/bare_locustfile.py --headless -H URL -u 50 -r 50 -t 10s

The body file holds one request body exactly as rankperf sends it (the harness writes it), so
this is what Locust itself costs per request for the same bytes on the wire. With
BENCH_MAX_REQUESTS=N the run stops after N requests (the memory figure); -t still bounds it.
"""

import os

import gevent
from locust import FastHttpUser, constant, task

BODY = open(os.environ["BENCH_BODY_FILE"], "rb").read()  # noqa: SIM115 (read once at import)
HEADERS = {"Content-Type": "application/json", "Accept": "application/json", "Accept-Encoding": "identity"}
MAX_REQUESTS = int(os.environ.get("BENCH_MAX_REQUESTS") or 0)
_sent = 0


class BareRerankUser(FastHttpUser):
    """One POST /rerank per iteration, as fast as the server answers."""

    wait_time = constant(0)

    @task
    def rerank(self) -> None:
        global _sent
        if MAX_REQUESTS and _sent >= MAX_REQUESTS:
            gevent.sleep(1)  # the quit below is under way
            return
        _sent += 1
        self.client.post("/rerank", data=BODY, headers=HEADERS)
        if _sent == MAX_REQUESTS:
            # quit from a greenlet of its own: quitting kills every user greenlet, this one included
            gevent.spawn(self.environment.runner.quit)
