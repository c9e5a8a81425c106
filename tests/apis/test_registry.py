"""The API registry: every module implements the whole interface; the options read it."""

import inspect
from pathlib import Path

import pytest

from rankperf_data import apis, options
from rankperf_data.apis.base import RerankApi

MEMBERS = [name for name in RerankApi.__annotations__] + [
    name for name, _ in inspect.getmembers(RerankApi, inspect.isfunction)]


@pytest.mark.parametrize("api", apis.API_MODULES, ids=lambda m: m.endpoint_type)
def test_each_module_implements_the_interface(api):
    missing = [name for name in MEMBERS if not hasattr(api, name)]
    assert not missing, missing
    assert api.default_path in api.routes and api.route("v2") in api.routes and api.route("v1") in api.routes
    assert api.aiperf_endpoint_type in ("hf_tei_rankings", "cohere_rankings", "nim_rankings")
    for name in ("encode", "validate"):
        assert "top_n" in inspect.signature(getattr(api, name)).parameters


def test_endpoint_types_and_help_come_from_the_registry():
    assert options.ENDPOINT_TYPES == ("hf_tei_rankings", "cohere_rankings", "nim_rankings", "voyage_rankings",
                                      "jina_rankings")
    help_text = apis.endpoint_types_help()
    assert all(f"{m.endpoint_type} ({m.summary})" in help_text for m in apis.API_MODULES)
    assert apis.top_n_help() == "cohere_rankings top_n, voyage_rankings top_k, jina_rankings top_n"


def test_an_api_lives_in_its_module_and_the_registry():
    """Adding an API touches few product modules: Voyage's name is in its module, the registry, the CLI help."""
    package = Path(apis.__file__).resolve().parents[1]
    naming = sorted(str(p.relative_to(package)) for p in package.rglob("*.py")
                    if "server" not in p.relative_to(package).parts and "voyage" in p.read_text().lower())
    assert naming == ["apis/__init__.py", "apis/voyage.py", "cli.py"], naming
