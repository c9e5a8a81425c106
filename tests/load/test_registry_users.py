"""The load side reads the API registry: one Locust user class per API, and each API's routes.

The user classes import Locust, which monkey-patches the standard library (gevent): that must not
happen inside the pytest process (ssl imported before it: RecursionError), so they are read in a
fresh interpreter.
"""

import json
import subprocess
import sys

from rankperf_data import apis
from rankperf_data.load.target import API_PATHS, endpoint_path

READ_CLASSES = """
import json
from rankperf_data import apis
from rankperf_data.load.users import USER_CLASSES, RerankUser
print(json.dumps({
    "names": list(USER_CLASSES),
    "wired": {name: issubclass(cls, RerankUser) and cls.__name__ == name
              and cls.api is apis.BY_USER_CLASS[name] and not cls.abstract for name, cls in USER_CLASSES.items()},
    "base_abstract": RerankUser.abstract,
}))
"""


def test_one_user_class_per_api_from_the_registry():
    proc = subprocess.run([sys.executable, "-c", READ_CLASSES], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found["names"] == ["TeiRerankUser", "CohereRerankUser", "NimRankingUser", "VoyageRerankUser",
                              "JinaRerankUser"]
    assert all(found["wired"].values()), found["wired"]
    assert found["base_abstract"]


def test_routes_and_target_paths():
    assert endpoint_path(apis.cohere, "", "v1") == "/v1/rerank"
    assert endpoint_path(apis.cohere, "", "v2") == "/v2/rerank"
    assert endpoint_path(apis.voyage, "", "v2") == "/v1/rerank"
    assert endpoint_path(apis.jina, "/gw/rerank", "v2") == "/gw/rerank"
    assert set(API_PATHS) == {"/rerank", "/v1/rerank", "/v2/rerank", "/v1/ranking"}
    assert list(API_PATHS) == sorted(API_PATHS, key=len, reverse=True)  # longest route matched first
