"""Offline checks of the deployment recipes in configs/: schemas, wiring and security rules.

No Docker engine or cluster is needed: the Kubernetes manifests are checked against
kubernetes-validate's bundled schemas, the Compose file against the Compose specification's
JSON schema (bundled by check-jsonschema), and every .conf file through Locust's own parser.
Each check skips cleanly when its validation package is missing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from importlib import resources
from pathlib import Path

import pytest

from rankperf_data import options

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs"
CONF_FILES = sorted(CONFIGS.glob("*.conf"))
K8S_FILES = sorted((CONFIGS / "k8s").rglob("*.yaml"))
K8S_SHARED = CONFIGS / "k8s" / "shared-records"  # variant files that replace two of the recipe's
COMPOSE_FILE = CONFIGS / "compose" / "docker-compose.yml"
DOCKERFILE = CONFIGS / "docker" / "Dockerfile"

LOOPBACK = "127.0.0.1"
MASTER_PORT = 5557
RANKINGS_FLAGS = tuple(f"--{o.dest.replace('_', '-')}" for o in options.OPTIONS if o.dest.startswith("rankings_"))
# Every flag that sets a rankperf option: none of them belongs on a worker.
RANKPERF_FLAGS = frozenset(f for o in options.OPTIONS for f in o.flags)
RANKPERF_ENV = frozenset("RANKPERF_" + o.dest.upper() for o in options.OPTIONS) - {options.API_KEY_ENV}
SUBPROCESS_TIMEOUT_S = 60


def _child_env(home: Path) -> dict[str, str]:
    """No inherited LOCUST_*/RANKPERF_* settings and no ~/.locust.conf: only the file under test counts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RANKPERF_", "LOCUST_"))}
    env["HOME"] = str(home)
    return env


def _flag(arg: str) -> str:
    return arg.split("=", 1)[0]


def _flag_value(args: list[str], flag: str) -> str | None:
    """The value of `--flag=value` or `--flag value` in an argument list."""
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


def test_recipe_files_exist():
    names = {p.name for p in CONF_FILES}
    assert {"tei-synthetic.conf", "cohere-jsonl.conf", "open-loop-poisson.conf", "master.conf",
            "worker.conf", "webui.conf"} <= names
    for path in (COMPOSE_FILE, DOCKERFILE, CONFIGS / "compose" / "README.md", CONFIGS / "k8s" / "README.md",
                 CONFIGS / "DISTRIBUTED.md"):
        assert path.is_file(), path


# ---- .conf files through Locust ------------------------------------------------------------------
@pytest.fixture(scope="module")
def locust_list(tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """`locust --config X --list` for every .conf, one per core at a time. It imports the
    locustfile (so rankperf's options are registered), lists the user classes and exits without
    load: exit 0 proves every key in the file is a known option with a valid value."""
    locust = Path(sys.executable).with_name("locust")
    if not locust.exists():
        pytest.skip("no locust console script next to this Python")
    env = _child_env(tmp_path_factory.mktemp("home"))

    def run(conf: Path) -> subprocess.CompletedProcess:
        return subprocess.run([str(locust), "--config", str(conf.relative_to(REPO)), "--list"], cwd=REPO,
                              env=env, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT_S)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return dict(zip([p.name for p in CONF_FILES], pool.map(run, CONF_FILES), strict=True))


@pytest.mark.parametrize("conf", [p.name for p in CONF_FILES])
def test_conf_parses_with_locust(locust_list, conf):
    result = locust_list[conf]
    assert result.returncode == 0, f"{conf}: exit {result.returncode}\n{result.stderr}"
    assert "Available Users:" in result.stdout
    assert re.search(r"^\s+(TeiRerankUser|CohereRerankUser|NimRankingUser)$", result.stdout, re.M)


_PARSE_SCRIPT = """
import json, sys
import rankperf_data.load.hooks  # registers rankperf's options with Locust's parser
from locust.argument_parser import get_parser
out = {}
for path in sys.argv[1:]:
    args = ["--config", path] if path else []
    out[path] = vars(get_parser(default_config_files=()).parse_args(args))
print(json.dumps(out, default=str))
"""


@pytest.fixture(scope="module")
def parsed(tmp_path_factory) -> dict[str, dict]:
    """Every .conf parsed by Locust's parser (by file name), plus Locust's defaults under ""."""
    paths = [str(p) for p in CONF_FILES]
    result = subprocess.run([sys.executable, "-c", _PARSE_SCRIPT, "", *paths], cwd=REPO, capture_output=True,
                            text=True, env=_child_env(tmp_path_factory.mktemp("home")),
                            timeout=SUBPROCESS_TIMEOUT_S)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    return {("" if not k else Path(k).name): v for k, v in data.items()}


def _conf_keys(path: Path) -> dict[str, str]:
    keys = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            keys[key.strip()] = value.strip()
    return keys


@pytest.mark.parametrize("conf", [p.name for p in CONF_FILES])
def test_conf_binds_loopback_and_says_how_to_run(parsed, conf):
    values = parsed[conf]
    text = (CONFIGS / conf).read_text()
    assert f"locust --config configs/{conf}" in text.split("\n\n")[0], "the top comment says how to run it"
    assert values["locustfile"].startswith("locustfiles/")
    if values["worker"]:
        assert values["master_host"] == LOOPBACK
    else:
        assert values["web_host"] == LOOPBACK
        # Also guards --processes, whose internal master otherwise listens on every interface.
        assert values["master_bind_host"] == LOOPBACK


def test_conf_scenarios(parsed):
    rankings = {"rankings_passages_mean": 5, "rankings_passages_stddev": 1.0,
                "rankings_passages_prompt_token_mean": 32, "rankings_passages_prompt_token_stddev": 8.0,
                "rankings_query_prompt_token_mean": 16, "rankings_query_prompt_token_stddev": 4.0}

    tei = parsed["tei-synthetic.conf"]
    assert tei["locustfile"] == "locustfiles/tei.py"
    assert (tei["headless"], tei["host"], tei["num_users"], tei["request_count"]) == (
        True, "http://127.0.0.1:8080", 1, 10)
    assert {k: tei[k] for k in rankings} == rankings

    cohere = parsed["cohere-jsonl.conf"]
    assert cohere["locustfile"] == "locustfiles/cohere.py"
    assert cohere["input_file"] and cohere["custom_dataset_type"] == "single_turn"
    assert cohere["request_count"] == 10

    open_loop = parsed["open-loop-poisson.conf"]
    assert (open_loop["request_rate"], open_loop["arrival_pattern"], open_loop["num_users"],
            open_loop["request_count"]) == (50.0, "poisson", 64, 3000)

    master = parsed["master.conf"]
    assert master["master"] and master["headless"] and master["expect_workers"] == 2
    assert {k: master[k] for k in rankings} == rankings

    worker = parsed["worker.conf"]
    assert worker["worker"] and not worker["master"]
    assert worker["locustfile"] == master["locustfile"], "workers look user classes up by name"
    assert worker["master_port"] == master["master_bind_port"] == MASTER_PORT

    webui = parsed["webui.conf"]
    assert webui["class_picker"] and not webui["headless"]
    assert webui["locustfile"] == "locustfiles/rerank.py"


def test_worker_conf_carries_no_load_options(parsed):
    """The master sends its options to the workers; a worker-side value would only mislead."""
    defaults, worker = parsed[""], parsed["worker.conf"]
    for opt in options.OPTIONS:
        assert worker[opt.dest] == defaults[opt.dest], f"worker.conf sets {opt.dest}"
    assert set(_conf_keys(CONFIGS / "worker.conf")) <= {"locustfile", "worker", "master-host", "master-port"}


def test_conf_files_hold_no_secret(parsed):
    for conf in (p.name for p in CONF_FILES):
        assert parsed[conf]["api_key"] is None, conf
        assert not parsed[conf]["header"], f"{conf}: headers may carry credentials; keep them out of configs"


# ---- Kubernetes ----------------------------------------------------------------------------------
@cache
def _k8s_docs() -> list[tuple[Path, dict]]:
    yaml = pytest.importorskip("yaml")
    docs = []
    for path in K8S_FILES:
        if path.parent != K8S_SHARED:
            docs += [(path, d) for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def _k8s_kind(kind: str) -> list[dict]:
    return [d for _, d in _k8s_docs() if d["kind"] == kind]


def _pod_spec(doc: dict) -> dict | None:
    if doc["kind"] == "Pod":
        return doc["spec"]
    if doc["kind"] in ("Deployment", "Job", "StatefulSet", "DaemonSet", "ReplicaSet"):
        return doc["spec"]["template"]["spec"]
    return None


def _component(doc: dict) -> str:
    return doc["metadata"]["labels"]["app.kubernetes.io/component"]


def _only_container(doc: dict) -> dict:
    containers = _pod_spec(doc)["containers"]
    assert len(containers) == 1
    return containers[0]


def _argv(container: dict) -> list[str]:
    return [*container.get("command", []), *container.get("args", [])]


def _k8s_master() -> dict:
    (master,) = [d for d in _k8s_kind("Job") + _k8s_kind("Deployment") if _component(d) == "master"]
    return master


def _k8s_worker() -> dict:
    (worker,) = [d for d in _k8s_kind("Deployment") if _component(d) == "worker"]
    return worker


def _k8s_versions() -> list[str]:
    kv = pytest.importorskip("kubernetes_validate.utils")
    available = set(kv.all_versions())
    # An older release still common in managed clusters, and the newest the package ships.
    return sorted({v for v in ("1.30.0",) if v in available} | {kv.latest_version()})


@pytest.mark.parametrize("path", K8S_FILES, ids=lambda p: str(p.relative_to(CONFIGS / "k8s")))
def test_k8s_manifest_validates(path):
    kv = pytest.importorskip("kubernetes_validate")
    yaml = pytest.importorskip("yaml")
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert docs
    for version in _k8s_versions():
        for doc in docs:
            kv.validate(doc, version, strict=True)  # raises ValidationError


def test_k8s_validation_is_not_vacuous():
    kv = pytest.importorskip("kubernetes_validate")
    worker = json.loads(json.dumps(_k8s_worker()))
    worker["spec"]["replicaz"] = 2
    with pytest.raises(kv.ValidationError):
        kv.validate(worker, _k8s_versions()[-1], strict=True)


def test_k8s_shared_records_variant_is_the_recipe_plus_one_shared_volume():
    """The variant worker mounts the master's PVC at the master's path and differs in nothing else,
    and its claim is the recipe's, ReadWriteMany: the workers see the run's records/ folder."""
    import copy

    yaml = pytest.importorskip("yaml")
    (pvc,) = yaml.safe_load_all((K8S_SHARED / "10-artifacts-pvc.yaml").read_text())
    (worker,) = yaml.safe_load_all((K8S_SHARED / "30-worker-deployment.yaml").read_text())
    (base_pvc,) = _k8s_kind("PersistentVolumeClaim")
    master = _k8s_master()
    assert pvc["metadata"] == base_pvc["metadata"] and pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    (m_mount,) = _only_container(master)["volumeMounts"]
    (m_volume,) = _pod_spec(master)["volumes"]
    (w_mount,) = _only_container(worker)["volumeMounts"]
    (w_volume,) = _pod_spec(worker)["volumes"]
    assert w_mount == m_mount and w_volume == m_volume
    assert m_volume["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    assert _flag_value(_argv(_only_container(master)), "--artifact-dir").startswith(m_mount["mountPath"] + "/")
    assert _pod_spec(worker)["securityContext"]["fsGroup"] == _pod_spec(master)["securityContext"]["fsGroup"]
    stripped = copy.deepcopy(worker)
    del _only_container(stripped)["volumeMounts"], _pod_spec(stripped)["volumes"]
    del _pod_spec(stripped)["securityContext"]["fsGroup"]
    assert stripped == _k8s_worker()  # no drift from the recipe's worker


def test_k8s_nothing_exposed_outside_the_cluster():
    kinds = {d["kind"] for _, d in _k8s_docs()}
    assert not kinds & {"Ingress", "Gateway", "HTTPRoute"}
    (service,) = _k8s_kind("Service")
    assert service["spec"].get("type", "ClusterIP") == "ClusterIP"
    assert not service["spec"].get("externalIPs")
    assert {p["port"] for p in service["spec"]["ports"]} == {MASTER_PORT, 8089}
    assert all("nodePort" not in p for p in service["spec"]["ports"])
    assert service["spec"]["selector"] == _k8s_master()["spec"]["template"]["metadata"]["labels"]
    for _, doc in _k8s_docs():
        spec = _pod_spec(doc)
        if spec is None:
            continue
        assert not spec.get("hostNetwork") and not spec.get("hostPID")
        for container in spec["containers"]:
            assert all("hostPort" not in p for p in container.get("ports", []))


def test_k8s_network_policy_admits_only_workers_to_the_master():
    (policy,) = _k8s_kind("NetworkPolicy")
    assert policy["spec"]["podSelector"]["matchLabels"] == _k8s_master()["spec"]["template"]["metadata"]["labels"]
    (rule,) = policy["spec"]["ingress"]
    (source,) = rule["from"]
    assert source["podSelector"]["matchLabels"] == _k8s_worker()["spec"]["template"]["metadata"]["labels"]
    assert [p["port"] for p in rule["ports"]] == [MASTER_PORT]


def test_k8s_master_and_worker_wiring():
    master, worker = _k8s_master(), _k8s_worker()
    m, w = _only_container(master), _only_container(worker)
    margs, wargs = _argv(m), _argv(w)
    assert m["image"] == w["image"]
    assert _flag_value(margs, "-f") == _flag_value(wargs, "-f")
    assert "--master" in margs and "--headless" in margs
    assert _flag_value(margs, "--master-bind-host") == "0.0.0.0"
    assert int(_flag_value(margs, "--request-count")) > 0
    assert worker["spec"]["replicas"] == 2
    assert int(_flag_value(margs, "--expect-workers")) == worker["spec"]["replicas"]
    assert "--worker" in wargs
    (service,) = _k8s_kind("Service")
    assert _flag_value(wargs, "--master-host") == service["metadata"]["name"]
    # The artifacts go to a volume that outlives the container (PVC) or at least the process.
    artifact_dir = _flag_value(margs, "--artifact-dir")
    mounts = {v["mountPath"]: v["name"] for v in m["volumeMounts"]}
    mount = next(path for path in mounts if artifact_dir.startswith(path + "/"))
    (volume,) = [v for v in _pod_spec(master)["volumes"] if v["name"] == mounts[mount]]
    assert "persistentVolumeClaim" in volume or "emptyDir" in volume
    if "persistentVolumeClaim" in volume:
        claims = {d["metadata"]["name"] for d in _k8s_kind("PersistentVolumeClaim")}
        assert volume["persistentVolumeClaim"]["claimName"] in claims


def test_k8s_every_pod_is_bounded_and_non_root():
    for path, doc in _k8s_docs():
        spec = _pod_spec(doc)
        if spec is None:
            continue
        assert spec["securityContext"]["runAsNonRoot"] is True, path
        for container in spec["containers"]:
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][kind]), (path, kind)
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, path


def test_k8s_api_key_only_from_a_secret():
    assert not _k8s_kind("Secret"), "ship no Secret: the user creates it from their own key"
    for path, doc in _k8s_docs():
        spec = _pod_spec(doc)
        if spec is None:
            continue
        for container in spec["containers"]:
            assert not any(_flag(a) == "--api-key" for a in _argv(container)), path
            for var in container.get("env", []):
                if var["name"] == options.API_KEY_ENV:
                    assert "value" not in var and "secretKeyRef" in var["valueFrom"], path
    worker_env = {v["name"]: v for v in _only_container(_k8s_worker()).get("env", [])}
    assert "secretKeyRef" in worker_env[options.API_KEY_ENV]["valueFrom"]


# ---- Compose -------------------------------------------------------------------------------------
@cache
def _compose() -> dict:
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load(COMPOSE_FILE.read_text())


def _compose_schema() -> dict:
    pytest.importorskip("check_jsonschema")
    source = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    return json.loads(source.read_text(encoding="utf-8"))


def _compose_validator():
    jsonschema = pytest.importorskip("jsonschema")
    schema = _compose_schema()
    return jsonschema.validators.validator_for(schema)(schema)


def test_compose_validates_against_the_compose_spec():
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in _compose_validator().iter_errors(_compose())]
    assert not errors


def test_compose_validation_is_not_vacuous():
    broken = json.loads(json.dumps(_compose()))
    broken["services"]["worker"]["replicas"] = 4  # belongs under deploy:
    assert list(_compose_validator().iter_errors(broken))


def _published(port) -> tuple[str | None, int]:
    """(host ip, container port) of one `ports` entry, short or long syntax."""
    if isinstance(port, dict):
        return port.get("host_ip"), int(port["target"])
    parts = str(port).split("/")[0].split(":")  # [HOST_IP:][HOST_PORT:]CONTAINER_PORT
    host_ip = ":".join(parts[:-2]) if len(parts) >= 3 else None
    return host_ip or None, int(parts[-1].split("-")[0])


def test_compose_publishes_only_on_loopback_and_never_the_master_port():
    services = _compose()["services"]
    published = []
    for name, service in services.items():
        assert service.get("network_mode") != "host", name
        for port in service.get("ports", []):
            host_ip, target = _published(port)
            assert host_ip == LOOPBACK, f"{name}: {port!r} is not bound to {LOOPBACK}"
            assert target != MASTER_PORT, f"{name}: the master port must not be published"
            published.append(target)
    assert published == [8089] and "ports" not in services["worker"]


def test_compose_master_and_worker_wiring():
    services = _compose()["services"]
    master, worker = services["master"], services["worker"]
    margs, wargs = master["command"], worker["command"]
    assert master["image"] == worker["image"] and master.get("build") == worker.get("build")
    assert _flag_value(margs, "-f") == _flag_value(wargs, "-f")
    assert "--master" in margs and "--worker" in wargs
    assert _flag_value(margs, "--master-bind-host") == "0.0.0.0"  # inside the compose network only
    assert _flag_value(wargs, "--master-host") == "master"
    assert "--expect-workers" in map(_flag, margs)
    assert master["environment"]["LOCUST_HEADLESS"].endswith(":-true}"), "headless by default"
    # The image is built from the repository with the shipped Dockerfile.
    build = master["build"]
    context = (COMPOSE_FILE.parent / build["context"]).resolve()
    assert context == REPO and (context / build["dockerfile"]).resolve() == DOCKERFILE


def test_compose_artifacts_land_in_a_bind_mounted_directory():
    master = _compose()["services"]["master"]
    artifact_dir = _flag_value(master["command"], "--artifact-dir")
    (volume,) = master["volumes"]
    assert volume["type"] == "bind" and volume["source"] == "./artifacts"
    assert artifact_dir.startswith(volume["target"] + "/")


def test_compose_api_key_passed_through_from_the_host():
    for name, service in _compose()["services"].items():
        env = service.get("environment", {})
        assert isinstance(env, dict), f"{name}: use the mapping form"
        if options.API_KEY_ENV in env:
            assert env[options.API_KEY_ENV] == "${RANKPERF_API_KEY:-}", name
        assert not any(_flag(a) == "--api-key" for a in service["command"]), name
    assert options.API_KEY_ENV in _compose()["services"]["worker"]["environment"]


def test_compose_knobs_do_not_shadow_rankperf_options():
    """Compose's own ${VARIABLES} must not be names that rankperf reads as options from the environment."""
    names = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE_FILE.read_text()))
    assert names and not names & RANKPERF_ENV


# ---- both orchestrators: the master owns the options ---------------------------------------------
def _recipe_containers() -> list[tuple[str, str, list[str], dict]]:
    """(recipe, role, argv, env) for every master and worker container of both orchestrators."""
    rows = []
    for name, service in _compose()["services"].items():
        rows.append(("compose", name, service["command"], service.get("environment", {})))
    for doc in (_k8s_master(), _k8s_worker()):
        c = _only_container(doc)
        rows.append(("k8s", _component(doc), _argv(c), {v["name"]: v for v in c.get("env", [])}))
    return rows


def test_rankings_options_only_on_masters():
    rows = _recipe_containers()
    assert {(r, role) for r, role, _, _ in rows} == {(r, x) for r in ("compose", "k8s") for x in ("master", "worker")}
    for recipe, role, argv, env in rows:
        flags = {_flag(a) for a in argv}
        if role == "master":
            assert set(RANKINGS_FLAGS) <= flags, recipe
        else:
            assert not flags & RANKPERF_FLAGS, f"{recipe} worker sets {sorted(flags & RANKPERF_FLAGS)}"
            assert not set(env) & RANKPERF_ENV, recipe
            assert not any(k.startswith("LOCUST_") for k in env), recipe


# ---- Dockerfile ----------------------------------------------------------------------------------
def test_dockerfile_installs_the_repo_and_runs_as_the_k8s_user():
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim\s*$", text, re.M)
    assert re.search(r"^COPY \. /app\s*$", text, re.M)
    assert re.search(r"^RUN pip install /app\s*$", text, re.M)
    (uid,) = re.findall(r"^USER (\d+)\s*$", text, re.M)
    for _, doc in _k8s_docs():
        spec = _pod_spec(doc)
        if spec is not None:
            assert spec["securityContext"]["runAsUser"] == int(uid)


# ---- secrets and links across configs/ -----------------------------------------------------------
_SECRET_PATTERNS = {
    "sk-key": re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"),  # OpenAI/Cohere-style key shapes
    "bearer-token": re.compile(r"Bearer\s+(?!KEY\b)[A-Za-z0-9._~+/-]{8,}"),
    "api-key-flag": re.compile(r"--api[-_]key(?:=|\s+)\S"),  # a key on a command line
    "api-key-setting": re.compile(r"^\s*api[-_]key\s*[=:]\s*\S", re.M),  # a key in a config file
    # A literal value, not ${RANKPERF_API_KEY...}, a placeholder or nothing.
    "env-literal": re.compile(r"(?<!\{)RANKPERF_API_KEY\s*[=:]\s*(?![\s$]|<)[^\s\"']"),
}


def _text_files() -> list[Path]:
    return [p for p in CONFIGS.rglob("*") if p.is_file() and "artifacts" not in p.parts]


@pytest.mark.parametrize("kind", _SECRET_PATTERNS)
def test_no_api_key_literal_under_configs(kind):
    hits = [f"{p.relative_to(REPO)}: {m.group(0)!r}" for p in _text_files()
            for m in _SECRET_PATTERNS[kind].finditer(p.read_text(errors="replace"))]
    assert not hits


def test_secret_scan_catches_a_key():
    samples = ["api-key = abc123", "--api-key=abc123", "RANKPERF_API_KEY=abc123", "sk-abcdefghij1234",
               "Authorization: Bearer abcdefgh1234"]
    for sample in samples:
        assert any(p.search(sample) for p in _SECRET_PATTERNS.values()), sample
    for fine in ["RANKPERF_API_KEY: ${RANKPERF_API_KEY:-}", "export RANKPERF_API_KEY", "key: api-key"]:
        assert not any(p.search(fine) for p in _SECRET_PATTERNS.values()), fine


def test_docs_name_only_files_that_exist():
    for doc in (CONFIGS / "DISTRIBUTED.md", CONFIGS / "compose" / "README.md", CONFIGS / "k8s" / "README.md"):
        for ref in set(re.findall(r"\bconfigs/[\w./-]*\w", doc.read_text())):
            if "artifacts" in Path(ref).parts:
                continue  # made by the user (mkdir) or by a run
            assert (REPO / ref).exists(), f"{doc.relative_to(REPO)} names {ref}"
