"""Offline checks of the compose recipes that run a real rerank server (TEI CPU, vLLM) next to rankperf.

No Docker engine here: each file is validated against the Compose specification's JSON schema
(bundled by check-jsonschema), and the master's command line, with compose's defaults filled in,
is parsed by Locust's own parser with rankperf's options registered.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from functools import cache
from importlib import resources
from pathlib import Path

import pytest

from rankperf_data import options

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "configs" / "compose"
# file -> (server service, the URL the workers use, locustfile, what the server must be told)
RECIPES = {
    "tei-cpu.yml": ("tei", "http://tei:80", "locustfiles/tei.py", "--port=80"),
    "vllm.yml": ("vllm", "http://vllm:8000", "locustfiles/cohere.py", "--runner=pooling"),
}
RANKPERF_FLAGS = frozenset(f for o in options.OPTIONS for f in o.flags)
RANKPERF_ENV = frozenset("RANKPERF_" + o.dest.upper() for o in options.OPTIONS) - {options.API_KEY_ENV}
DEFAULT = re.compile(r"\$\{([A-Z0-9_]+):-([^}]*)\}")


@cache
def load(name: str) -> dict:
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load((COMPOSE / name).read_text())


@cache
def validator():
    jsonschema = pytest.importorskip("jsonschema")
    pytest.importorskip("check_jsonschema")
    source = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    schema = json.loads(source.read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


def with_defaults(argv: list[str]) -> list[str]:
    """What compose runs when none of the ${VARIABLES} is set."""
    return [DEFAULT.sub(lambda m: m.group(2), arg) for arg in argv]


def flag_value(argv: list[str], flag: str) -> str | None:
    for arg in argv:
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


@pytest.mark.parametrize("name", RECIPES)
def test_validates_against_the_compose_spec(name):
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator().iter_errors(load(name))]
    assert not errors


@pytest.mark.parametrize("name", RECIPES)
def test_validation_is_not_vacuous(name):
    broken = json.loads(json.dumps(load(name)))
    server = RECIPES[name][0]
    broken["services"]["master"]["depends_on"][server]["condition"] = "healthy"  # not a compose condition
    assert list(validator().iter_errors(broken))


@pytest.mark.parametrize("name", RECIPES)
def test_server_is_healthchecked_and_private(name):
    server, url, _, must = RECIPES[name]
    services = load(name)["services"]
    assert set(services) == {server, "master", "worker"}
    svc = services[server]
    assert must in with_defaults(svc["command"])
    assert "ports" not in svc and "ports" not in services["worker"], "the server is reached by name only"
    assert services["master"]["ports"] == ["127.0.0.1:8089:8089"]  # the web UI, loopback only
    assert svc["healthcheck"]["test"][0] == "CMD" and "/health" in " ".join(svc["healthcheck"]["test"])
    for role in ("master", "worker"):
        assert services[role]["depends_on"][server] == {"condition": "service_healthy"}, role
    port = url.rsplit(":", 1)[1]
    assert port in " ".join(with_defaults(svc["command"]) + svc["healthcheck"]["test"])


def test_tei_uses_the_cpu_image_and_vllm_a_gpu():
    assert ":cpu-" in load("tei-cpu.yml")["services"]["tei"]["image"]
    vllm = load("vllm.yml")["services"]["vllm"]
    (device,) = vllm["deploy"]["resources"]["reservations"]["devices"]
    assert device["capabilities"] == ["gpu"]


_PARSE = """
import json, sys
import rankperf_data.load.hooks  # registers rankperf's options with Locust's parser
from locust.argument_parser import get_parser
print(json.dumps(vars(get_parser(default_config_files=()).parse_args(sys.argv[1:])), default=str))
"""


@pytest.mark.parametrize("name", RECIPES)
def test_master_command_parses_and_targets_the_server(name, tmp_path):
    _, url, locustfile, _ = RECIPES[name]
    services = load(name)["services"]
    argv = with_defaults(services["master"]["command"])
    assert argv[0] == "locust"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RANKPERF_", "LOCUST_"))}
    env["HOME"] = str(tmp_path)
    proc = subprocess.run([sys.executable, "-c", _PARSE, *argv[1:]], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    parsed = json.loads(proc.stdout)
    assert parsed["host"] == url and parsed["locustfile"] == locustfile and parsed["master"]
    assert parsed["request_count"] == 1000 and parsed["model"] == "BAAI/bge-reranker-base"
    worker = with_defaults(services["worker"]["command"])
    assert flag_value(worker, "--master-host") == "master" and locustfile in worker
    assert not {a.split("=", 1)[0] for a in worker} & RANKPERF_FLAGS, "the master sends the options"


@pytest.mark.parametrize("name", RECIPES)
def test_no_secret_and_no_shadowed_option(name):
    text = (COMPOSE / name).read_text()
    names = set(re.findall(r"\$\{([A-Z0-9_]+)", text))
    assert names and not names & RANKPERF_ENV
    for svc in load(name)["services"].values():
        for key, value in svc.get("environment", {}).items():
            if "KEY" in key or "TOKEN" in key:
                assert value == f"${{{key}:-}}", f"{key} must come from the shell"
