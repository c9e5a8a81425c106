"""Sweep lists given to plain `locust`: parsing, the argparse types, and the plan (points, seeds, folders)."""

from __future__ import annotations

import argparse

import pytest

from rankperf_data.campaign.lists import ListError, rate_arg, sweep_plan, users_arg, users_list


def test_users_and_rates_become_profile_shaped_points():
    plan = sweep_plan("1,4,16", 0.0, -1, 30, 0.0)
    assert plan.dest == "concurrency"
    assert [p.dir_name for p in plan.points] == ["concurrency_1", "concurrency_4", "concurrency_16"]
    assert [p.seed for p in plan.points] == [42, 43, 44]  # as `rankperf profile`: seed 42 + i
    assert [plan.users(p, 9) for p in plan.points] == [1, 4, 16] and plan.rate(plan.points[0]) == 0.0
    rates = sweep_plan("", "50,100", 7, 0, 5.0)
    assert [p.dir_name for p in rates.points] == ["rate_50.0", "rate_100.0"]
    assert [p.seed for p in rates.points] == [7, 8]
    assert [rates.users(p, 9) for p in rates.points] == [9, 9] and rates.rate(rates.points[1]) == 100.0


def test_no_list_is_a_single_run():
    assert sweep_plan("", 0.0, -1, 30, 0.0) is None
    assert sweep_plan("", 50.0, -1, 30, 0.0) is None
    assert sweep_plan("", "50", -1, 30, 0.0) is None


@pytest.mark.parametrize(("users", "rate", "count", "needle"), [
    ("1,,4", 0.0, 5, "empty item"),
    ("1,x", 0.0, 5, "not a number"),
    ("2,2", 0.0, 5, "repeated"),
    ("0,1", 0.0, 5, ">= 1"),
    ("", "50,0", 5, "must be > 0"),
    ("", "50,inf", 5, "finite"),
    ("1,2", 10.0, 5, "closed loop"),
    ("1,2", 0.0, 0, "needs --request-count"),
])
def test_bad_lists_say_which_option_and_why(users, rate, count, needle):
    with pytest.raises(ListError, match=needle):
        sweep_plan(users, rate, -1, count, 0.0)


def test_argparse_types_keep_lists_as_text_and_scalars_as_before():
    assert users_arg(" 1, 4 ,16") == "1,4,16"
    assert rate_arg("12.5") == 12.5 and isinstance(rate_arg("0"), float)
    assert rate_arg("50,100.5") == "50,100.5"
    assert users_list("") == []
    for bad in ("1,,2", "a"):
        with pytest.raises(argparse.ArgumentTypeError):
            users_arg(bad)
    with pytest.raises(argparse.ArgumentTypeError):
        rate_arg("5,")
