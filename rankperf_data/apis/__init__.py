"""The registry of rerank wire protocols: one module per API, looked up by endpoint type or user class.

Adding an API: one module here implementing base.RerankApi, its name in API_MODULES, a route in
server/, and tests. The options, the Locust user classes and the reports read everything else from it.
"""

from __future__ import annotations

from types import ModuleType

from rankperf_data.apis import cohere, jina, nim, tei, voyage

API_MODULES: tuple[ModuleType, ...] = (tei, cohere, nim, voyage, jina)  # --endpoint-type's order

BY_ENDPOINT_TYPE: dict[str, ModuleType] = {m.endpoint_type: m for m in API_MODULES}
BY_USER_CLASS: dict[str, ModuleType] = {m.user_class: m for m in API_MODULES}
ENDPOINT_TYPES: tuple[str, ...] = tuple(BY_ENDPOINT_TYPE)


def endpoint_types_help() -> str:
    """Each endpoint type and its request, for --endpoint-type's help."""
    return ", ".join(f"{m.endpoint_type} ({m.summary})" for m in API_MODULES)


def top_n_help() -> str:
    """Which body field --top-n sets for each API that has one."""
    return ", ".join(f"{m.endpoint_type} {m.top_n_field}" for m in API_MODULES if m.top_n_field)
