"""Secret redaction: API keys, auth headers, URL passwords and key parameters never reach a file or a log."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace

import orjson

from rankperf_data.options import API_KEY_ENV
from rankperf_data.results.run import RunInfo

REDACTED = "<redacted>"
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "api-key", "x-api-key", "cookie"})
SENSITIVE_KEYS = frozenset({"api_key", "apikey", "token", "password", "secret"})
# Shorter "secrets" would be replaced inside ordinary words; the structural rules below (flags,
# headers, URLs) still catch them in their usual places.
MIN_SECRET_LEN = 4


# ---- text, headers, options ------------------------------------------------------------------------------------

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
