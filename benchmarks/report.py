"""The table of ratios, as console text and as Markdown, from results.json's content."""

from __future__ import annotations

Row = tuple[str, str, float | None, str, float | None, str]  # figure, what, rankperf, peer name, peer, ratio


def _f(x: float | None, digits: int = 0) -> str:
    if x is None:
        return "n/a"
    return f"{x:,.{digits}f}"


def _r(a: float | None, b: float | None, digits: int = 2) -> str:
    return f"{a / b:.{digits}f}x" if a is not None and b else "n/a"


def _capacity(cap: dict) -> list[tuple[str, ...]]:
    if not cap.get("rankperf_req_s"):
        return []
    rp, a = cap["rankperf_req_s"], cap.get("aiperf_req_s")
    cpu = cap.get("rankperf_cpu_us_per_req")
    marginal = cap.get("marginal_cpu_us_per_req") or {}
    return [
        ("capacity", "req/s, 1 process (goal >= 5x)", _f(rp), "AIPerf", _f(a), _r(rp, a)),
        ("capacity", "req/s, 2 worker processes (goal >= 10x)", _f(cap.get("rankperf_2proc_req_s")), "AIPerf",
         _f(a), _r(cap.get("rankperf_2proc_req_s"), a)),
        ("capacity", "req/s, 1 process", _f(rp), "bare Locust", _f(cap.get("locust_bare_req_s")),
         _r(rp, cap.get("locust_bare_req_s"))),
        ("capacity", "req/s, 1 process", _f(rp), "wrk (ceiling)", _f(cap.get("wrk_req_s")),
         _r(rp, cap.get("wrk_req_s"), 3)),
        ("capacity", "CPU us/request (lower is better)", _f(cpu), "AIPerf", _f(cap.get("aiperf_cpu_us_per_req")),
         _r(cpu, cap.get("aiperf_cpu_us_per_req"), 3)),
        ("capacity", "CPU us/request without start-up", _f(marginal.get("rankperf")), "AIPerf",
         _f(marginal.get("aiperf")), _r(marginal.get("rankperf"), marginal.get("aiperf"), 3)),
        ("capacity", "CPU us/request", _f(cpu), "bare Locust", _f(cap.get("locust_bare_cpu_us_per_req")),
         _r(cpu, cap.get("locust_bare_cpu_us_per_req"))),
    ]


def _timing(tim: dict) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for key, block in tim.items():
        if not isinstance(block, dict) or "rankperf" not in block:
            continue
        rp, ai = block["rankperf"], block.get("aiperf", {})
        for q in ("p50", "p99"):
            out.append(("timing", f"{key}: {q} - 20 ms (ms, lower is better)", _f(rp.get(f"{q}_excess_ms"), 2),
                        "AIPerf", _f(ai.get(f"{q}_excess_ms"), 2),
                        _r(rp.get(f"{q}_excess_ms"), ai.get(f"{q}_excess_ms"), 3)))
        out.append(("timing", f"{key}: req/s achieved", _f(rp.get("req_s")), "AIPerf", _f(ai.get("req_s")),
                    _r(rp.get("req_s"), ai.get("req_s"))))
    return out


def _open_loop_rows(pct: str, label: str, rp: dict, ai: dict) -> list[tuple[str, ...]]:
    """achieved/offered and lag p99 of one rankperf variant next to AIPerf at its own share of capacity."""
    rows = [("open loop", f"{pct}%{label}: achieved/offered", _f(rp.get("achieved_over_offered"), 3), "AIPerf",
             _f(ai.get("achieved_over_offered"), 3),
             _r(rp.get("achieved_over_offered"), ai.get("achieved_over_offered"), 3))]
    for tag, key in (("", "schedule_lag_p99_ms"), (" after 1 s", "schedule_lag_p99_after_1s_ms")):
        rows.append(("open loop", f"{pct}%{label}: lag p99{tag} (ms, lower is better)", _f(rp.get(key), 2),
                     "AIPerf", _f(ai.get(key), 2), _r(rp.get(key), ai.get(key), 3)))
    return rows


def _open_loop(ol: dict) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for key, block in ol.items():
        if not key.startswith("load_"):
            continue
        rp, ai = block.get("rankperf", {}), block.get("aiperf", {})
        pct = key.split("_")[1]
        out.append(("open loop", f"{pct}% of own capacity: offered req/s", _f(rp.get("offered_req_s")), "AIPerf",
                    _f(ai.get("offered_req_s")), _r(rp.get("offered_req_s"), ai.get("offered_req_s"))))
        out += _open_loop_rows(pct, "", rp, ai)
        if block.get("two_processes"):
            out += _open_loop_rows(pct, " (rankperf --workers 2)", block["two_processes"], ai)
        same = block.get("same_rate")
        if same:
            out += _open_loop_rows(pct, f" at AIPerf's rate ({_f(same.get('offered_req_s'))}/s)", same, ai)
    return out


def _memory(mem: dict) -> list[tuple[str, ...]]:
    if not mem.get("rankperf"):
        return []
    rp = mem["rankperf"]
    out = []
    for peer, name in (("aiperf", "AIPerf"), ("locust_bare", "bare Locust")):
        other = mem.get(peer, {})
        if not other:
            continue
        out.append(("memory", f"peak PSS MB ({_f(rp.get('requests'))} req; {name} {_f(other.get('requests'))}, "
                              f"{mem.get('runs_per_tool', {}).get(peer, '?')} run(s))",
                    _f(rp.get("peak_pss_mb"), 1), name, _f(other.get("peak_pss_mb"), 1),
                    _r(rp.get("peak_pss_mb"), other.get("peak_pss_mb"), 3)))
        out.append(("memory", "bytes/request (peak PSS / requests)", _f(rp.get("bytes_per_request")), name,
                    _f(other.get("bytes_per_request")), _r(rp.get("bytes_per_request"), other.get("bytes_per_request"), 3)))
    out.append(("memory", "peak PSS MB, rankperf 2 processes", _f(mem.get("rankperf_2proc", {}).get("peak_pss_mb"), 1),
                "", "", ""))
    return out


def _generation(gen: dict) -> list[tuple[str, ...]]:
    if gen.get("rankperf_req_s") is None:
        return []
    h2h = gen.get("head_to_head", {})
    rp, ai = h2h.get("rankperf", {}), h2h.get("aiperf", {})
    return [
        ("generation", f"requests/s, same WordPiece tokenizer ({_f(h2h.get('requests'))} requests)",
         _f(gen["rankperf_req_s"]), "AIPerf", _f(gen.get("aiperf_req_s"), 1),
         _r(gen["rankperf_req_s"], gen.get("aiperf_req_s"), 1)),
        ("generation", "requests/s with set-up (tokenizer, corpus)", _f(rp.get("req_s_with_setup")), "AIPerf",
         _f(ai.get("req_s_with_setup"), 1), _r(rp.get("req_s_with_setup"), ai.get("req_s_with_setup"), 1)),
        ("generation", "cross-check: AIPerf measured by hand", "", "AIPerf (hand)",
         _f(gen.get("aiperf_hand_measured_req_s"), 1), ""),
    ]


def _server(srv: dict) -> list[tuple[str, ...]]:
    out = []
    for route, block in srv.items():
        if isinstance(block, dict) and route.startswith("/"):
            out.append(("server", f"rankperf serve {route}, 1 core, 0 ms: req/s", _f(block.get("req_s")), "", "", ""))
            out.append(("server", f"rankperf serve {route}: server CPU us/request", _f(block.get("server_cpu_us_per_req")),
                        "", "", f"{_f(block.get('req_s_per_core'))} req/s per core"))
    return out


def rows(res: dict) -> list[tuple[str, ...]]:
    """(figure, measure, rankperf, peer, peer value, rankperf/peer) as formatted strings."""
    return [*_capacity(res.get("capacity", {})), *_timing(res.get("timing", {})),
            *_open_loop(res.get("open_loop", {})), *_memory(res.get("memory", {})),
            *_generation(res.get("generation", {})), *_server(res.get("server_capacity", {}))]


HEAD = ("figure", "measure", "rankperf", "peer", "peer value", "rankperf / peer")


def table(res: dict) -> str:
    """Fixed-width console table."""
    body = rows(res)
    widths = [max(len(r[i]) for r in [HEAD, *body]) for i in range(len(HEAD))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(HEAD, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in body]
    return "\n".join(lines)


def markdown(res: dict) -> str:
    """The same table in Markdown."""
    lines = ["| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
    lines += ["| " + " | ".join(r) + " |" for r in rows(res)]
    return "\n".join(lines)


def commands(res: dict, work: str) -> dict[str, str]:
    """One exact command line per (tool, run label), artifact paths shown relative to the run directory."""
    found: dict[str, str] = {}

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "cmd" in node and "label" in node:
                found.setdefault(f"{node['tool']}: {node['label']}", node["cmd"].replace(work, "$RUN"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(res)
    return found
