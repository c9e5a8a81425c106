"""--check-consistency: each distinct request sent once, alone, before the run; its answer kept.

Computed once, in the process that coordinates the run (a local run's only process, or the
master), before any load process is configured: no other request is in flight, and each distinct
entry is asked exactly once however many processes share the run. The answers travel to every load
process with the run's configuration (entry -> (order, scores)), because which process sends which
entry is only known as indices are granted. They are bounded by the dataset's distinct entries.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import gevent
from geventhttpclient import HTTPClient

from rankperf_data.dataset.errors import InputError
from rankperf_data.load.failures import read_body
from rankperf_data.load.finish import _encode as encode_body  # the body a user sends (--top-n too)
from rankperf_data.load.settings import LoadSettings
from rankperf_data.load.users import TargetError, request_headers, target_url

log = logging.getLogger("rankperf")

GIVE_UP_AFTER = 5  # references failing in a row: the server does not answer alone, stop asking


@dataclass
class References:
    """The reference answers: [[entry, [order, scores]], ...] as they travel, and the counts."""

    wire: list = field(default_factory=list)
    sent: int = 0
    failed: int = 0

    def counts(self) -> dict:
        return {"sent": self.sent, "failed": self.failed}


def collect(host: str, path: str, api, settings: LoadSettings, dataset, environment) -> References:
    """Send every entry once, one at a time, and keep each valid answer's order and scores."""
    refs = References()
    try:
        url = target_url(host, path)
    except TargetError as exc:
        raise InputError(str(exc), field="--check-consistency") from None
    headers = request_headers(settings, environment)
    client = HTTPClient.from_url(url, connection_timeout=settings.timeout, network_timeout=settings.timeout,
                                 insecure=settings.insecure)
    started = time.monotonic()
    in_a_row = 0
    try:
        for e in range(dataset.entries):
            if in_a_row >= GIVE_UP_AFTER:
                log.warning("rankperf: --check-consistency: %d reference requests failed in a row; the "
                            "other %d entries get no reference", in_a_row, dataset.entries - e)
                break
            request = dataset.entry_request(e)
            refs.sent += 1
            verdict = _ask(client, url.request_uri, headers, encode_body(api, request, settings), api, request,
                           settings)
            if verdict is None or not verdict.ok:
                refs.failed += 1
                in_a_row += 1
                continue
            in_a_row = 0
            refs.wire.append([e, [list(verdict.order), list(verdict.scores)]])
    finally:
        client.close()
    log.info("rankperf: --check-consistency: %d reference answers in %.1f s (%d failed)",
             len(refs.wire), time.monotonic() - started, refs.failed)
    return refs


def _ask(client: HTTPClient, uri: str, headers: dict, body: bytes, api, request, settings: LoadSettings):
    try:
        with gevent.Timeout(settings.timeout):
            response = client.request("POST", uri, body=body, headers=headers)
            payload = read_body(response)
            status = response.status_code
    except Exception as exc:  # a failed reference leaves its entry uncompared; the run goes on
        log.warning("rankperf: --check-consistency: reference request failed: %s", type(exc).__name__)
        return None
    except gevent.Timeout:
        return None
    return api.validate(status, payload, request, settings.top_n or None)
