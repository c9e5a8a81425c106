"""The order, folders, seeds and warmup of a campaign's runs, with a fake single-run path."""

from pathlib import Path

from rankperf_data.campaign.flags import campaign_config
from rankperf_data.campaign.runner import run_campaign
from rankperf_data.cli import build_parser


def parse(*argv):
    parser, _ = build_parser()
    return parser.parse_args(["profile", *argv])


def fake_runs(tmp_path: Path, *argv):
    args = parse(*argv)
    calls = []

    def run_one(a):
        calls.append((Path(a.artifact_dir).relative_to(tmp_path).as_posix(), a.concurrency, a.random_seed,
                      a.warmup_request_count))
        return 0

    code = run_campaign(args, campaign_config(args), run_one, tmp_path)
    return code, calls


def test_repeated_mode_runs_every_value_once_per_trial(tmp_path):
    code, calls = fake_runs(tmp_path, "--concurrency", "1,4", "--num-profile-runs", "2",
                            "--warmup-request-count", "5")
    assert code == 1  # the fake wrote no run: nothing succeeded
    assert calls == [("profile_runs/trial_0001/concurrency_1", 1, 42, 5),
                     ("profile_runs/trial_0001/concurrency_4", 4, 43, 5),
                     ("profile_runs/trial_0002/concurrency_1", 1, 42, 0),  # warmup only in trial 1
                     ("profile_runs/trial_0002/concurrency_4", 4, 43, 0)]


def test_independent_mode_runs_all_trials_of_a_value_first(tmp_path):
    _, calls = fake_runs(tmp_path, "--concurrency", "1,4", "--num-profile-runs", "2", "--random-seed", "9",
                         "--parameter-sweep-mode", "independent", "--no-profile-run-disable-warmup-after-first",
                         "--warmup-request-count", "5")
    assert calls == [("concurrency_1/profile_runs/trial_0001", 1, 9, 5),
                     ("concurrency_1/profile_runs/trial_0002", 1, 9, 5),
                     ("concurrency_4/profile_runs/trial_0001", 4, 10, 5),
                     ("concurrency_4/profile_runs/trial_0002", 4, 10, 5)]


def test_a_rate_search_that_never_passes_stops_after_its_first_point(tmp_path):
    _, calls = fake_runs(tmp_path, "--search-recipe", "max-rate-under-sla", "--e2e-sla-ms", "100")
    assert calls == [("search_iter_0000/profile_runs/run_0001", 256, 42, 0)]  # in-flight cap 256
    history = (tmp_path / "search_history.json").read_text()
    assert '"convergence_reason": "no_pass_in_range"' in history


def test_search_iterations_run_their_trials_in_aiperf_folders(tmp_path):
    _, calls = fake_runs(tmp_path, "--search-recipe", "max-concurrency-under-sla", "--e2e-sla-ms", "100",
                         "--num-profile-runs", "2", "--vary-seed-per-trial")
    assert [c[0] for c in calls] == ["search_iter_0000/profile_runs/run_0001",
                                     "search_iter_0000/profile_runs/run_0002"]
    assert calls[0][1] == 1 and calls[0][2] != calls[1][2]  # from --concurrency-min; a seed per trial
