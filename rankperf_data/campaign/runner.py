"""Run a campaign: one exact single run per (point, trial) through the single-run path, then the
aggregates from the folders. Ctrl-C (or SIGTERM/SIGHUP) between or during runs keeps every finished
run and marks the aggregates partial."""

from __future__ import annotations

import argparse
import copy
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rankperf_data.campaign import console
from rankperf_data.campaign.flags import DEFAULT_RATE_SEARCH_CAP, CampaignConfig
from rankperf_data.campaign.manifest import Manifest
from rankperf_data.campaign.plan import Point, run_dir, search_run_dir, trial_seed
from rankperf_data.campaign.rebuild import Rebuilt, rebuild
from rankperf_data.campaign.runs import RunValues, read_run
from rankperf_data.campaign.search import search
from rankperf_data.campaign.sla import first_breach

RunOne = Callable[[argparse.Namespace], int]


class Stopped(Exception):
    """The campaign was interrupted by a signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class Campaign:
    def __init__(self, args: argparse.Namespace, cfg: CampaignConfig, run_one: RunOne, base: Path) -> None:
        self.args, self.cfg, self.run_one, self.base = args, cfg, run_one, base
        self.manifest = Manifest.from_config(cfg)
        self.done = 0
        self.successes = 0
        self.last_run_at: float | None = None

    def point_args(self, values: dict, seed: int | None, trial: int, folder: Path) -> argparse.Namespace:
        a = copy.copy(self.args)
        for dest, value in values.items():
            setattr(a, dest, value)
        if a.concurrency is None:
            a.concurrency = DEFAULT_RATE_SEARCH_CAP if self.cfg.recipe == "max-rate-under-sla" else 1
        if seed is not None:
            a.random_seed = seed
        if trial > 1 and self.cfg.skip_warmup_after_first:
            a.warmup_request_count = 0
        a.artifact_dir = str(folder)
        a.campaign_quiet = True
        return a

    def run(self, values: dict, seed: int | None, trial: int, folder: Path, label: str, total: int | None,
            cooldown: float) -> RunValues:
        if self.last_run_at is not None and cooldown > 0:
            time.sleep(cooldown)
        code = self.run_one(self.point_args(values, seed, trial, folder))
        self.last_run_at = time.monotonic()
        if code >= 128:
            raise Stopped(code - 128)
        run = read_run(folder, str(folder.relative_to(self.base)) if folder != self.base else ".", self.cfg.filters)
        self.done += 1
        self.successes += run.successful
        verdict = None
        if self.cfg.filters:
            verdict = run.successful and first_breach(self.cfg.filters, run.values) is None
        print(console.progress_line(self.done, total, label, run, verdict), flush=True)
        return run

    def run_grid(self) -> None:
        cfg, total = self.cfg, len(self.cfg.points) * self.cfg.trials
        order = [(t, p) for t in range(1, cfg.trials + 1) for p in cfg.points] if cfg.mode == "repeated" \
            else [(t, p) for p in cfg.points for t in range(1, cfg.trials + 1)]
        previous: tuple[int, Point] | None = None
        for trial, point in order:
            cooldown = 0.0
            if previous is not None:
                cooldown = cfg.sweep_cooldown if point.index != previous[1].index else cfg.trial_cooldown
                if cfg.mode == "repeated" and trial != previous[0]:
                    cooldown = cfg.trial_cooldown
            seed = None if point.seed is None else trial_seed(point.seed, point.label, trial, cfg.vary_seed)
            label = point.label or f"run {trial}"
            if cfg.trials > 1 and point.label:
                label += f" (trial {trial})"
            self.run(point.values, seed, trial, run_dir(self.base, point, trial, cfg.trials, cfg.mode), label,
                     total, cooldown)
            previous = (trial, point)

    def run_search(self) -> None:
        cfg = self.cfg
        integer = cfg.recipe == "max-concurrency-under-sla"
        dest = "concurrency" if integer else "request_rate"
        seed = cfg.points[0].seed

        def measure(value: float) -> tuple[bool, dict | None]:
            iteration = self.done // cfg.trials
            value = int(value) if integer else float(value)
            breaches = []
            for trial in range(1, cfg.trials + 1):
                s = None if seed is None else trial_seed(seed, f"{dest}={value}", trial, cfg.vary_seed)
                run = self.run({dest: value}, s, trial, search_run_dir(self.base, iteration, trial),
                               f"{dest.replace('_', ' ')} {value:g}", None, cfg.trial_cooldown if trial > 1 else 0)
                breaches.append(first_breach(cfg.filters, run.values) if run.successful else {"observed": None})
            ok = any(b is None for b in breaches)
            return ok, None if ok else breaches[0]

        outcome = search(measure, cfg.search_lo, cfg.search_hi, integer=integer,
                         max_iterations=cfg.max_iterations)
        self.manifest.reason = outcome.reason


def _raise_stopped(signum: int, _frame) -> None:
    raise Stopped(signum)


def run_campaign(args: argparse.Namespace, cfg: CampaignConfig, run_one: RunOne, base: Path) -> int:
    """Run every point, write the aggregates, print the table and the answer; the exit code."""
    c = Campaign(args, cfg, run_one, base)
    c.manifest.write(base)
    stopped: int | None = None
    previous = {s: signal.signal(s, _raise_stopped) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        c.run_search() if cfg.recipe else c.run_grid()
        c.manifest.status = "complete"
    except Stopped as exc:
        stopped = exc.signum
    except KeyboardInterrupt:
        stopped = signal.SIGINT
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    if stopped is not None:
        c.manifest.status = "interrupted"
    c.manifest.write(base)
    result = rebuild(base, c.manifest)
    print_result(result, base)
    if stopped is not None:
        sys.stderr.write(f"rankperf: campaign stopped by {signal.Signals(stopped).name}: {c.done} runs finished, "
                         "aggregates marked partial\n")
        return 128 + stopped
    return 0 if c.successes else 1


def print_result(result: Rebuilt, base: Path) -> None:
    m = result.manifest
    if m.kind == "search":
        rows = [(f"{it['iteration_idx']}: {list(it['variation_values'].values())[0]:g}",
                 runs, it["feasible"]) for it, runs in _search_rows(result)]
        print(console.render(console.point_table(rows)), end="")
        print("Answer: " + console.answer_search(result.history, m.filters))
    else:
        verdicts = {}
        if result.sweep:
            verdicts = {tuple(sorted(r["parameters"].items())): r.get("feasible")
                        for r in result.sweep["per_combination_metrics"]}
        rows = [(p.label or "all runs", runs, verdicts.get(tuple(sorted(p.parameters.items()))))
                for p, runs in result.cells]
        print(console.render(console.point_table(rows)), end="")
        if m.kind == "sweep":
            done = [(p, rs, v) for (p, rs), (_, _, v) in zip(result.cells, rows, strict=True) if rs]
            print("Answer: " + console.answer_sweep(done, m.filters))
        else:
            from rankperf_data.campaign.aggregate import confidence_aggregate

            runs = result.cells[0][1]
            print("Answer: " + console.answer_trials(confidence_aggregate(runs, m.confidence, 0.0, False)))
    if m.status != "complete":
        print("Partial: the campaign was interrupted; the aggregates cover the finished runs only")
    for path in result.paths:
        print(f"Aggregate: {path}")


def _search_rows(result: Rebuilt):
    hist = {i["iteration_idx"]: i for i in result.history["iterations"]}
    return [(hist[it["iteration_idx"]], it["runs"]) for it in result.iterations]
