"""The load side reads the API registry: one Locust user class per API, and each API's routes."""

from rankperf_data import apis
from rankperf_data.load.target import API_PATHS, endpoint_path
from rankperf_data.load.users import USER_CLASSES, RerankUser


def test_one_user_class_per_api_from_the_registry():
    assert list(USER_CLASSES) == ["TeiRerankUser", "CohereRerankUser", "NimRankingUser", "VoyageRerankUser",
                                  "JinaRerankUser"]
    for name, cls in USER_CLASSES.items():
        assert issubclass(cls, RerankUser) and cls.__name__ == name
        assert cls.api is apis.BY_USER_CLASS[name] and not cls.abstract
    assert RerankUser.abstract


def test_routes_and_target_paths():
    assert endpoint_path(apis.cohere, "", "v1") == "/v1/rerank"
    assert endpoint_path(apis.cohere, "", "v2") == "/v2/rerank"
    assert endpoint_path(apis.voyage, "", "v2") == "/v1/rerank"
    assert endpoint_path(apis.jina, "/gw/rerank", "v2") == "/gw/rerank"
    assert set(API_PATHS) == {"/rerank", "/v1/rerank", "/v2/rerank", "/v1/ranking"}
    assert list(API_PATHS) == sorted(API_PATHS, key=len, reverse=True)  # longest route matched first
