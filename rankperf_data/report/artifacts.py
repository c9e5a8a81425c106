"""A run's artifact directory: its default name, secret redaction, and writing every export."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path

import orjson

from rankperf_data.options import API_KEY_ENV
from rankperf_data.report import export
from rankperf_data.report.console import render_console
from rankperf_data.report.metrics import is_open_loop, summarize
from rankperf_data.report.run import RunInfo, RunResult

REDACTED = "<redacted>"
FILES = {
    "json": "profile_export_aiperf.json",
    "csv": "profile_export_aiperf.csv",
    "console": "profile_export_console.txt",
    "jsonl": "profile_export.jsonl",
    "run": "run.json",
}
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "api-key", "x-api-key", "cookie"})
SENSITIVE_KEYS = frozenset({"api_key", "apikey", "token", "password", "secret"})
# Shorter "secrets" would be replaced inside ordinary words; the structural rules below (flags,
# headers, URLs) still catch them in their usual places.
MIN_SECRET_LEN = 4


# ---- naming ---------------------------------------------------------------------------------------


def default_artifact_dir(model: str, endpoint_type: str, concurrency: int | None, request_rate: float | None,
                         *, concurrency_explicit: bool = False, root: str | Path = "artifacts") -> Path:
    """AIPerf's rule: ``<root>/<model, "/"->"_">[_multi]-openai-<endpoint_type>-<stimulus>``.

    stimulus: ``concurrency<N>`` without a rate; ``request_rate<R>`` (R as a float, e.g. 100.0) with
    one; ``concurrency<N>-request_rate<R>`` when a rate is given and the caller flags the
    concurrency as explicitly set (in open loop it is then the in-flight cap, which AIPerf names).
    """
    models = [m for m in model.split(",") if m.strip()] or ["model"]
    name = models[0].strip().replace("/", "_") + ("_multi" if len(models) > 1 else "")
    n = concurrency or 1
    if request_rate:
        stimulus = f"request_rate{float(request_rate)}"
        if concurrency_explicit:
            stimulus = f"concurrency{n}-{stimulus}"
    else:
        stimulus = f"concurrency{n}"
    return Path(root) / f"{name}-openai-{endpoint_type}-{stimulus}"


def benchmark_id(result: RunResult) -> str:
    """12 hex digits derived from the run itself, so rebuilding the exports keeps the same id."""
    info = result.info
    key = f"{info.model}|{info.endpoint_type}|{info.url}|{result.start_ns}|{result.end_ns}|{result.records.size}"
    return hashlib.sha256(key.encode()).hexdigest()[:12]


# ---- redaction ------------------------------------------------------------------------------------

_FLAG = re.compile(r"(--(?:api-key|api_key|token|password))(=|\s+)('[^']*'|\"[^\"]*\"|\S+)")
_HEADER = re.compile(
    r"(?<![?&])\b((?:proxy-)?authorization|(?:x-)?api[-_]key|cookie)(['\"]?\s*[:=]\s*['\"]?)"
    r"(?:(?:Bearer|Basic|Token)\s+)?[^\s'\",}]+", re.I)
_USERINFO = re.compile(r"(://[^/\s:@]+:)[^/\s@]+@")
_QUERY = re.compile(r"([?&](?:api[-_]?key|key|token|access_token)=)[^&\s'\"]+", re.I)


def _usable(secrets: Iterable[str]) -> list[str]:
    # A secret without a letter could match inside numbers; the structural rules cover those.
    usable = {s for s in secrets if len(s) >= MIN_SECRET_LEN and any(c.isalpha() for c in s)}
    return sorted(usable, key=len, reverse=True)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Known secrets, --api-key values, auth header values, URL passwords and key query params -> <redacted>."""
    for secret in _usable(secrets):
        text = text.replace(secret, REDACTED)
    text = _FLAG.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", text)
    text = _HEADER.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", text)
    text = _USERINFO.sub(lambda m: f"{m[1]}{REDACTED}@", text)
    return _QUERY.sub(lambda m: f"{m[1]}{REDACTED}", text)


def _redact_header_line(line: str, secrets: Iterable[str]) -> str:
    name, sep, value = line.partition(":")
    if sep and name.strip().lower() in SENSITIVE_HEADERS:
        return f"{name}: {REDACTED}"
    return redact_text(line, secrets)


def redact_headers(headers: Mapping[str, str] | Iterable[str] | str | None, secrets: Iterable[str] = ()):
    """Headers with Authorization / api-key / x-api-key (and cookie) values replaced by <redacted>.

    Accepts a mapping, a list of ``Name:Value`` strings (the --header option) or one such string
    (or a JSON object as text); returns the same shape.
    """
    secrets = list(secrets)
    if headers is None:
        return None
    if isinstance(headers, Mapping):
        return {k: REDACTED if str(k).lower() in SENSITIVE_HEADERS else redact_text(str(v), secrets)
                for k, v in headers.items()}
    if isinstance(headers, str):
        if headers.lstrip().startswith("{"):
            try:
                parsed = orjson.loads(headers)
            except orjson.JSONDecodeError:
                return redact_text(headers, secrets)
            return orjson.dumps(redact_headers(parsed, secrets)).decode()
        return _redact_header_line(headers, secrets)
    return [redact_headers(h, secrets) for h in headers]


def redact_value(value, secrets: Iterable[str] = ()):
    """Recursively redact an options-like structure: secret keys, header lists, every string."""
    secrets = list(secrets)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            key = str(k).lower()
            if key in SENSITIVE_KEYS or key in SENSITIVE_HEADERS:
                out[k] = REDACTED if v else v
            elif key in ("header", "headers"):
                out[k] = redact_headers(v, secrets)
            else:
                out[k] = redact_value(v, secrets)
        return out
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, list | tuple):
        return [redact_value(v, secrets) for v in value]
    return value


def collect_secrets(info: RunInfo | None, extra: Iterable[str] = ()) -> list[str]:
    """Secret strings known for this run: the API key (option or environment) and auth header values."""
    found = [s for s in extra if s]
    if os.environ.get(API_KEY_ENV):
        found.append(os.environ[API_KEY_ENV])
    if info is None:
        return found
    key = info.options.get("api_key")
    if isinstance(key, str) and key and key != REDACTED:
        found.append(key)
    headers = info.options.get("header") or []
    for line in [headers] if isinstance(headers, str) else headers:
        name, sep, value = str(line).partition(":")
        if sep and name.strip().lower() in SENSITIVE_HEADERS and value.strip() != REDACTED:
            value = value.strip()
            found.append(value)
            found.append(value.split(None, 1)[-1])  # the token without "Bearer "
    return found


def redact_info(info: RunInfo, secrets: Iterable[str]) -> RunInfo:
    secrets = list(secrets)
    return replace(info, url=redact_text(info.url, secrets), cli_command=redact_text(info.cli_command, secrets),
                   options=redact_value(info.options, secrets), dataset=redact_value(info.dataset, secrets))


def scrub_bytes(data: bytes, secrets: Iterable[str]) -> bytes:
    """Last line of defence on every written file: each known secret, raw or JSON-escaped."""
    for secret in _usable(secrets):
        for form in {secret.encode(), orjson.dumps(secret)[1:-1]}:
            data = data.replace(form, REDACTED.encode())
    return data


# ---- writing --------------------------------------------------------------------------------------


def write_artifacts(result: RunResult, out_dir: str | Path, *, secrets: Iterable[str] = (),
                    include_records: bool = True) -> dict[str, Path]:
    """Write the JSON, CSV, console text, and (unless include_records=False) the JSONL and run.json.

    Every RunInfo string, option and error message passes through redaction first, and every file's
    bytes are scrubbed of known secrets. inputs.json and other files in out_dir are left alone.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    known = collect_secrets(result.info, secrets)
    clean = replace(result, info=redact_info(result.info, known),
                    messages=[redact_text(m, known) for m in result.messages],
                    notes=[redact_text(n, known) for n in result.notes])
    summary = summarize(clean)
    bid = benchmark_id(clean)
    contents = {
        "json": export.dumps_pretty(export.to_aiperf_json(summary, bid, out)),
        "csv": export.to_aiperf_csv(summary).encode(),
        "console": render_console(summary).encode(),
    }
    if include_records:
        contents["run"] = export.dumps_pretty(export.run_json(
            clean.info, clean.start_ns, clean.end_ns, clean.was_cancelled, clean.partial, clean.notes,
            clean.messages, int(clean.records.size), bid))
    if clean.server_metrics:
        contents.update(_server_metrics_files(clean, bid, include_records))
    if summary.timeslices:
        from rankperf_data.report import timeslices

        config = export.input_config(summary, out) if summary.info is not None else None
        contents[timeslices.JSON_FILE] = export.dumps_pretty(timeslices.to_json(summary.timeslices, config))
        contents[timeslices.CSV_FILE] = timeslices.to_csv(summary.timeslices).encode()
    paths = {}
    for key, data in contents.items():
        paths[key] = out / FILES.get(key, key)
        paths[key].write_bytes(scrub_bytes(data, known))
    if include_records:
        # Streamed: its strings are fixed keys, numbers and the messages redacted above.
        paths["jsonl"] = out / FILES["jsonl"]
        with paths["jsonl"].open("wb") as f:
            for chunk in export.jsonl_chunks(clean.records, clean.messages, is_open_loop(clean.info), bid):
                f.write(chunk)
    return paths


def _server_metrics_files(result: RunResult, bid: str, include_raw: bool) -> dict[str, bytes]:
    """server_metrics_export.{json,csv} (as --server-metrics-formats asks) and the raw scrapes."""
    from rankperf_data.report import server_metrics_export as sme
    from rankperf_data.report.server_metrics import SCRAPES_FILE, ServerScrapes, compute_window

    data = ServerScrapes.from_dict(result.server_metrics)
    window_s = (result.end_ns - result.start_ns) / 1e9 if result.end_ns > result.start_ns else None
    profiling = compute_window(data, "profiling", window_s)
    warmup = compute_window(data, "warmup", None)
    out: dict[str, bytes] = {}
    if "json" in data.formats:
        out[sme.JSON_FILE] = export.dumps_pretty(sme.to_json(data, profiling, warmup, bid))
    if "csv" in data.formats:
        out[sme.CSV_FILE] = sme.to_csv(data, profiling).encode()
    if include_raw:
        out[SCRAPES_FILE] = orjson.dumps(data.to_dict())
    return out
