"""The raw scrapes of a run on disk: a spool appended one parsed scrape a line, then server_metrics_scrapes.json.

During the run the scraper appends each parsed scrape to the spool (one JSON line) instead of
keeping it; at the end the raw file is written from the spool a line at a time, with the bytes
``orjson.dumps(ServerScrapes.to_dict())`` gives for the same scrapes (in the order they were taken).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import orjson

SPOOL_FILE = "server-scrapes.jsonl"  # in the run's records folder while the run goes


class ScrapeSpool:
    """Appends parsed scrapes, one JSON line each (opened at the first one)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: BinaryIO | None = None

    def append(self, scrape: dict) -> None:
        if self._file is None:
            self._file = self.path.open("wb")
        self._file.write(orjson.dumps(scrape) + b"\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def write_raw_file(head: dict, spool: str | Path, out: Path, scrub: Callable[[bytes], bytes]) -> None:
    """``out`` = orjson.dumps({**head, "scrapes": [every spooled scrape]}), written a scrape at a time."""
    whole = orjson.dumps({**head, "scrapes": []})
    assert whole.endswith(b"[]}")  # scrapes is the last key: the list goes between its brackets
    spool = Path(spool)
    with out.open("wb") as f:
        f.write(scrub(whole[:-2]))
        if spool.is_file():
            with spool.open("rb") as lines:
                for n, line in enumerate(lines):
                    f.write(scrub((b"," if n else b"") + line.rstrip(b"\n")))
        f.write(b"]}")
