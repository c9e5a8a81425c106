"""Sweep points, folder layout, seeds, and the checks of the campaign flags (before any load)."""

from pathlib import Path

import pytest

from rankperf_data.campaign.flags import CampaignError, campaign_config
from rankperf_data.campaign.plan import Point, run_dir, search_run_dir, trial_seed
from rankperf_data.cli import build_parser


def parse(*argv):
    parser, _ = build_parser()
    return parser.parse_args(["profile", *argv])


def test_comma_lists_become_grid_points_with_aiperf_folder_names():
    cfg = campaign_config(parse("--concurrency", "1, 4,16", "--request-rate", "10,20"))
    assert [p.dir_name for p in cfg.points] == [
        "concurrency_1__rate_10.0", "concurrency_1__rate_20.0", "concurrency_4__rate_10.0",
        "concurrency_4__rate_20.0", "concurrency_16__rate_10.0", "concurrency_16__rate_20.0"]
    assert [p.seed for p in cfg.points] == [42 + i for i in range(6)]  # AIPerf: seed 42, + i per value
    assert cfg.points[2].parameters == {"concurrency": 4, "rate": 10.0}


def test_zip_pairs_lists_and_passage_counts_sweep():
    cfg = campaign_config(parse("--rankings-passages-mean", "10,50", "--concurrency", "2,8", "--sweep-type", "zip",
                                "--random-seed", "7", "--parameter-sweep-same-seed"))
    assert [p.dir_name for p in cfg.points] == ["concurrency_2__rankings_passages_mean_10",
                                                "concurrency_8__rankings_passages_mean_50"]
    assert [p.seed for p in cfg.points] == [7, 8]  # same-seed is ignored for zip, as in AIPerf


def test_same_seed_on_a_grid():
    cfg = campaign_config(parse("--concurrency", "1,2", "--random-seed", "5", "--parameter-sweep-same-seed"))
    assert [p.seed for p in cfg.points] == [5, 5]


def test_run_folders_follow_aiperf_layout():
    base = Path("/b")
    p = Point(0, {"concurrency": 4})
    assert run_dir(base, p, 1, 1, "repeated") == base / "concurrency_4"
    assert run_dir(base, p, 2, 3, "repeated") == base / "profile_runs/trial_0002/concurrency_4"
    assert run_dir(base, p, 2, 3, "independent") == base / "concurrency_4/profile_runs/trial_0002"
    assert run_dir(base, Point(0, {}), 3, 3, "repeated") == base / "profile_runs/run_0003"
    assert run_dir(base, Point(0, {"request_rate": 50}), 1, 1, "repeated") == base / "rate_50.0"
    assert search_run_dir(base, 0, 1) == base / "search_iter_0000/profile_runs/run_0001"


def test_trial_seeds():
    assert trial_seed(42, "concurrency=4", 2, vary=False) == 42
    a, b = trial_seed(42, "concurrency=4", 1, vary=True), trial_seed(42, "concurrency=4", 2, vary=True)
    assert a != b and 0 <= a < 2**63 and a == trial_seed(42, "concurrency=4", 1, vary=True)


@pytest.mark.parametrize("argv,needle", [
    (["--concurrency", "1,,4"], "empty item"),
    (["--concurrency", "1,"], "empty item"),
    (["--request-rate", "10,abc"], "not a number"),
    (["--request-rate", "10,inf"], "finite"),
    (["--warmup-request-count", "1,2"], "takes one value, not a list"),
    (["--num-profile-runs", "11"], "1-10"),
    (["--confidence-level", "1"], "between 0 and 1"),
])
def test_bad_values_exit_2_with_one_line(capsys, argv, needle):
    with pytest.raises(SystemExit) as exc:
        parse(*argv)
    assert exc.value.code == 2
    assert needle in capsys.readouterr().err


@pytest.mark.parametrize("argv,needle", [
    (["--search-recipe", "max-concurrency-under-sla"], "needs an SLA"),
    (["--search-recipe", "max-throughput-ttft-sla", "--e2e-sla-ms", "250"], "needs streaming"),
    (["--search-recipe", "max-concurrency-under-sla", "--ttft-sla-ms", "20"], "needs streaming"),
    (["--search-recipe", "nope", "--e2e-sla-ms", "250"], "is not one of"),
    (["--search-recipe", "max-concurrency-under-sla", "--e2e-sla-ms", "250", "--concurrency", "1,2"],
     "give one value, not a list"),
    (["--search-recipe", "max-rate-under-sla", "--e2e-sla-ms", "250", "--request-rate", "1,2"],
     "give one value, not a list"),
    (["--e2e-sla-ms", "250"], "add --search-recipe"),
    (["--concurrency", "1,2", "--request-rate", "5,6,7", "--sweep-type", "zip"], "equal length"),
    (["--profile-run-cooldown-seconds", "3"], "needs --num-profile-runs > 1"),
    (["--search-recipe", "max-concurrency-under-sla", "--search-sla", "request_latency:p99:lt"], "expected METRIC"),
    (["--search-recipe", "max-concurrency-under-sla", "--search-sla", "request_latency:p42:lt:5"], "stat"),
])
def test_campaigns_that_cannot_run_are_refused(argv, needle):
    with pytest.raises(CampaignError, match=needle):
        campaign_config(parse(*argv))


def test_search_slas():
    cfg = campaign_config(parse("--search-recipe", "max-rate-under-sla", "--e2e-sla-ms", "50+2*passages",
                                "--error-rate-sla", "0.01", "--search-sla", "request_latency:p90:le:300"))
    assert [str(f) for f in cfg.filters] == ["intended_latency:p99:lt:50+2*passages",
                                             "request_error_rate:avg:lt:1.0",
                                             "request_latency:p90:le:300", "rate_achieved:avg:ge:1.0"]
    assert (cfg.search_lo, cfg.search_hi) == (1.0, 100000.0)
    cfg = campaign_config(parse("--search-recipe", "max-concurrency-under-sla", "--e2e-sla-ms", "250",
                                "--concurrency-max", "64"))
    assert [str(f) for f in cfg.filters] == ["request_latency:p99:lt:250"] and cfg.search_hi == 64
