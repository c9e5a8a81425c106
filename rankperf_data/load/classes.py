"""One API per run: a start that would run several user classes at once is refused, by name.

A locustfile with several classes (locustfiles/rerank.py has every API) runs every one of
them when none is chosen, weighted together, and their requests would land in one report
labelled as one API. Headless (and a web UI without the class picker, or with --autostart)
this is refused before any load; with the class picker the form starts with one class ticked,
and a POST /swarm that selects several (or none, which Locust reads as all) is refused.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import sys

from locust.runners import STATE_RUNNING

from rankperf_data import apis

log = logging.getLogger("rankperf")


def mixing_message(names: list[str], web_ui: bool = False) -> str:
    """Why a run with these user classes is refused, and how to pick one."""
    listed = ", ".join(sorted(names))
    example = preferred(names)
    if web_ui:
        how = "tick exactly one class in the form's User Classes picker"
    else:
        how = (f"name one after the options (e.g. `locust -f locustfiles/rerank.py ... {example}`), "
               "or use locustfiles/tei.py or locustfiles/cohere.py (one class each); in the web UI "
               "add --class-picker and tick one")
    return (f"{len(names)} user classes would run together ({listed}): their requests would be mixed in "
            f"one report labelled as one API. Pick one: {how}.")


def preferred(names) -> str:
    """The class a picker starts with: the first rankperf API (TEI) present, else the first by name."""
    present = set(names)
    for name in apis.BY_USER_CLASS:
        if name in present:
            return name
    return sorted(present)[0]


def check_startup(environment) -> None:
    """Exit 2, before any load, when the run's classes are fixed at startup and there are several:
    headless, a web UI without the class picker, or --autostart (it starts without the form)."""
    names = [c.__name__ for c in environment.user_classes or []]
    if len(names) <= 1:
        return
    options = environment.parsed_options
    picker = bool(getattr(options, "class_picker", False))
    autostart = bool(getattr(options, "autostart", False))
    if environment.web_ui is not None and picker and not autostart:
        return  # chosen in the form; /swarm checks the choice
    sys.stderr.write(f"rankperf: error: {mixing_message(names)}\n")
    if getattr(options, "processes", 0):
        _end_forked_workers()
    sys.exit(2)


def _end_forked_workers() -> None:
    """--processes forked the workers before this check; Locust's exit handler treats a child that is
    still running as gone and never signals it, so it would retry the master for minutes."""
    import psutil

    for child in psutil.Process().children():
        with contextlib.suppress(psutil.NoSuchProcess):
            child.terminate()


def selected_for_swarm(environment, form) -> list[str]:
    """The classes Locust's POST /swarm will run (its own rule: the form's list; none means all)."""
    chosen = form.getlist("user_classes")
    available = environment.available_user_classes or {}
    if chosen:
        return [n for n in available if n in chosen]
    runner = environment.runner
    if runner is not None and runner.state == STATE_RUNNING:  # editing a running test keeps its classes
        return [c.__name__ for c in environment.user_classes or []]
    return list(available)


def install_picker_guard(environment) -> None:
    """Web UI with --class-picker: start the picker with one class ticked; refuse a mixed start."""
    web_ui = environment.web_ui
    if web_ui is None or not getattr(environment.parsed_options, "class_picker", False):
        return
    from flask import jsonify, request

    original = web_ui.update_template_args

    def update_template_args() -> None:
        original()
        # Locust's picker lists its rows from `users` and starts with every name in
        # `available_user_classes` ticked: keep one there (the last run's class, else TEI's)
        available = web_ui.template_args.get("available_user_classes") or []
        if len(available) > 1:
            current = [c.__name__ for c in environment.user_classes or [] if c.__name__ in available]
            web_ui.template_args["available_user_classes"] = [current[0] if len(current) == 1 else
                                                              preferred(available)]

    web_ui.update_template_args = update_template_args

    start = web_ui.app.view_functions["locust.swarm"]

    @functools.wraps(start)
    @web_ui.auth_required_if_enabled  # a caller who is not signed in is sent to the login first
    def swarm_one_class(*args, **kwargs):
        names = selected_for_swarm(environment, request.form)
        if len(names) > 1:
            message = mixing_message(names, web_ui=True)
            log.error("rankperf: start refused: %s", message)
            return jsonify({"success": False, "message": message, "host": environment.host})
        return start(*args, **kwargs)

    web_ui.app.view_functions["locust.swarm"] = swarm_one_class
