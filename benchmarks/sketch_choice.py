"""Which mergeable latency distribution to use: ddsketch or hdrhistogram, measured side by side.

For each: cost to insert one value (the library's own per-value call), cost to merge two
sketches, the serialized size, and the relative error of p50/p99 against numpy's exact
percentiles on a lognormal latency sample. Run: `python benchmarks/sketch_choice.py [--json]`.
"""

from __future__ import annotations

import argparse
import base64
import json
import time

import numpy as np

N = 200_000
INSERT_N = 50_000


def lognormal(n: int, seed: int) -> np.ndarray:
    """Latencies in ms: median ~20 ms, a long right tail (sigma 0.8)."""
    return np.random.default_rng(seed).lognormal(np.log(20.0), 0.8, n)


def per_call_us(fn, values) -> float:
    t0 = time.perf_counter()
    for v in values:
        fn(v)
    return (time.perf_counter() - t0) / len(values) * 1e6


def timed(fn, repeat: int = 200) -> float:
    """Microseconds per call of fn."""
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t0) / repeat * 1e6


def rel_error(got: float, exact: float) -> float:
    return abs(got - exact) / exact


def measure_ddsketch(data: np.ndarray) -> dict:
    from ddsketch import DDSketch

    from rankperf_data.results.sketches import LatencySketch

    sk = DDSketch(relative_accuracy=0.005)
    insert = per_call_us(sk.add, data[:INSERT_N].tolist())
    a, b = LatencySketch(), LatencySketch()
    a.add_many(data[: N // 2])
    b.add_many(data[N // 2:])
    wire = a.to_wire()
    decode = timed(lambda: LatencySketch.from_wire(wire))
    c = LatencySketch.from_wire(wire)
    merge = timed(lambda: c.merge(b))
    t0 = time.perf_counter()
    whole = LatencySketch()
    whole.add_many(data)
    vec = (time.perf_counter() - t0) / len(data) * 1e6
    size = len(__import__("msgpack").packb(whole.to_wire()))
    return {"insert_us": insert, "vector_insert_us": vec, "decode_us": decode, "merge_us": merge, "bytes": size,
            "p50": whole.quantile(0.5), "p99": whole.quantile(0.99)}


def measure_hdr(data: np.ndarray) -> dict:
    from hdrh.histogram import HdrHistogram

    us = (data * 1000).astype(np.int64)  # integer microseconds
    h = HdrHistogram(1, 60_000_000, 2)
    insert = per_call_us(h.record_value, us[:INSERT_N].tolist())
    a, b = HdrHistogram(1, 60_000_000, 2), HdrHistogram(1, 60_000_000, 2)
    for v in us[: N // 2].tolist():
        a.record_value(v)
    for v in us[N // 2:].tolist():
        b.record_value(v)
    enc_a = a.encode()
    decode = timed(lambda: HdrHistogram.decode(enc_a))
    c = HdrHistogram.decode(enc_a)
    merge = timed(lambda: c.add(b))
    whole = HdrHistogram(1, 60_000_000, 2)
    whole.add(a)
    whole.add(b)
    return {"insert_us": insert, "decode_us": decode, "merge_us": merge, "bytes": len(base64.b64decode(whole.encode())),
            "p50": whole.get_value_at_percentile(50) / 1000, "p99": whole.get_value_at_percentile(99) / 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON line last")
    args = parser.parse_args()
    data = lognormal(N, seed=7)
    exact = {"p50": float(np.percentile(data, 50)), "p99": float(np.percentile(data, 99))}
    out = {}
    for name, fn in (("ddsketch", measure_ddsketch), ("hdrhistogram", measure_hdr)):
        m = fn(data)
        m["p50_rel_error"] = rel_error(m.pop("p50"), exact["p50"])
        m["p99_rel_error"] = rel_error(m.pop("p99"), exact["p99"])
        out[name] = {k: round(v, 5) for k, v in m.items()}
        print(name, out[name])
    if args.json:
        print(json.dumps({"values": N, **out}))


if __name__ == "__main__":
    main()
