"""One module per rerank wire protocol; look them up by AIPerf endpoint type or user class."""

from __future__ import annotations

from types import ModuleType

from rankperf_data.apis import cohere, nim, tei

BY_ENDPOINT_TYPE: dict[str, ModuleType] = {m.endpoint_type: m for m in (tei, cohere, nim)}
BY_USER_CLASS: dict[str, ModuleType] = {m.user_class: m for m in (tei, cohere, nim)}
