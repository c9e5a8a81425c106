"""The table of ratios, as console text and as Markdown, from results.json's content."""

from __future__ import annotations

Row = tuple[str, str, float | None, str, float | None, str]  # figure, what, rankperf, peer name, peer, ratio


def _f(x: float | None, digits: int = 0) -> str:
    if x is None:
        return "n/a"
    return f"{x:,.{digits}f}"


def _r(a: float | None, b: float | None, digits: int = 2) -> str:
    return f"{a / b:.{digits}f}x" if a is not None and b else "n/a"


def rows(res: dict) -> list[tuple[str, ...]]:
    """(figure, measure, rankperf, peer, peer value, ratio) as formatted strings."""
    out: list[tuple[str, ...]] = []
    cap = res.get("capacity", {})
    if cap.get("rankperf_req_s"):
        a = cap.get("aiperf_req_s")
        out += [
            ("capacity", "req/s, 1 process (goal >= 5x)", _f(cap["rankperf_req_s"]), "AIPerf", _f(a),
             _r(cap["rankperf_req_s"], a)),
            ("capacity", "req/s, 2 worker processes (goal >= 10x)", _f(cap.get("rankperf_2proc_req_s")), "AIPerf",
             _f(a), _r(cap.get("rankperf_2proc_req_s"), a)),
            ("capacity", "req/s, 1 process", _f(cap["rankperf_req_s"]), "bare Locust", _f(cap.get("locust_bare_req_s")),
             _r(cap["rankperf_req_s"], cap.get("locust_bare_req_s"))),
            ("capacity", "req/s, 1 process", _f(cap["rankperf_req_s"]), "wrk (ceiling)", _f(cap.get("wrk_req_s")),
             _r(cap["rankperf_req_s"], cap.get("wrk_req_s"), 3)),
            ("capacity", "CPU us/request (peer/rankperf)", _f(cap.get("rankperf_cpu_us_per_req")), "AIPerf",
             _f(cap.get("aiperf_cpu_us_per_req")), _r(cap.get("aiperf_cpu_us_per_req"), cap.get("rankperf_cpu_us_per_req"))),
            ("capacity", "CPU us/request without start-up (peer/rankperf)",
             _f((cap.get("marginal_cpu_us_per_req") or {}).get("rankperf")), "AIPerf",
             _f((cap.get("marginal_cpu_us_per_req") or {}).get("aiperf")),
             _r((cap.get("marginal_cpu_us_per_req") or {}).get("aiperf"),
                (cap.get("marginal_cpu_us_per_req") or {}).get("rankperf"))),
            ("capacity", "CPU us/request (peer/rankperf)", _f(cap.get("rankperf_cpu_us_per_req")), "bare Locust",
             _f(cap.get("locust_bare_cpu_us_per_req")),
             _r(cap.get("locust_bare_cpu_us_per_req"), cap.get("rankperf_cpu_us_per_req"))),
        ]
    tim = res.get("timing", {})
    for key, block in tim.items():
        if not isinstance(block, dict) or "rankperf" not in block:
            continue
        rp, ai = block["rankperf"], block.get("aiperf", {})
        for q in ("p50", "p99"):
            out.append(("timing", f"{key}: {q} - 20 ms (ms)", _f(rp.get(f"{q}_excess_ms"), 2), "AIPerf",
                        _f(ai.get(f"{q}_excess_ms"), 2), _r(ai.get(f"{q}_excess_ms"), rp.get(f"{q}_excess_ms"), 1)
                        + " (peer/rankperf)"))
        out.append(("timing", f"{key}: req/s achieved", _f(rp.get("req_s")), "AIPerf", _f(ai.get("req_s")),
                    _r(rp.get("req_s"), ai.get("req_s"))))
    ol = res.get("open_loop", {})
    for key, block in ol.items():
        if not key.startswith("load_"):
            continue
        rp, ai = block.get("rankperf", {}), block.get("aiperf", {})
        pct = key.split("_")[1]
        out.append(("open loop", f"{pct}% of own capacity: achieved/offered", _f(rp.get("achieved_over_offered"), 3),
                    "AIPerf", _f(ai.get("achieved_over_offered"), 3), ""))
        out.append(("open loop", f"{pct}%: offered req/s", _f(rp.get("offered_req_s")), "AIPerf",
                    _f(ai.get("offered_req_s")), _r(rp.get("offered_req_s"), ai.get("offered_req_s"))))
        for tag, key in (("", "schedule_lag_p99_ms"), (" after the first 1 s", "schedule_lag_p99_after_1s_ms")):
            out.append(("open loop", f"{pct}%: schedule lag p99{tag} (ms)", _f(rp.get(key), 2), "AIPerf",
                        _f(ai.get(key), 2), ""))
        same = block.get("same_rate")
        if same:
            for tag, key in (("", "schedule_lag_p99_ms"), (" after 1 s", "schedule_lag_p99_after_1s_ms")):
                out.append(("open loop", f"{pct}% at AIPerf's rate ({_f(same.get('offered_req_s'))}/s): lag p99{tag} (ms)",
                            _f(same.get(key), 2), "AIPerf", _f(ai.get(key), 2), ""))
            out.append(("open loop", f"{pct}% at AIPerf's rate: achieved/offered",
                        _f(same.get("achieved_over_offered"), 3), "AIPerf", _f(ai.get("achieved_over_offered"), 3), ""))
    mem = res.get("memory", {})
    if mem.get("rankperf"):
        ai = mem.get("aiperf", {})
        out.append(("memory", f"peak PSS MB ({mem['requests']:,} req; AIPerf {ai.get('requests') or 0:,.0f})",
                    _f(mem["rankperf"].get("peak_pss_mb"), 1), "AIPerf", _f(ai.get("peak_pss_mb"), 1),
                    _r(ai.get("peak_pss_mb"), mem["rankperf"].get("peak_pss_mb"), 1) + " (peer/rankperf)"))
        out.append(("memory", "peak PSS MB, rankperf 2 processes", _f(mem.get("rankperf_2proc", {}).get("peak_pss_mb"), 1),
                    "", "", ""))
        out.append(("memory", "bytes/request (peak PSS / requests)", _f(mem["rankperf"].get("bytes_per_request")),
                    "AIPerf", _f(ai.get("bytes_per_request")), ""))
    gen = res.get("generation", {})
    if gen.get("rankperf_req_s_real_tokenizer"):
        out.append(("generation", "requests/s, real WordPiece tokenizer", _f(gen["rankperf_req_s_real_tokenizer"]),
                    "AIPerf", _f(gen["aiperf_req_s"], 1), f"{gen['rankperf_vs_aiperf']:.1f}x"))
    return out


HEAD = ("figure", "measure", "rankperf", "peer", "peer value", "ratio")


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
