"""Cohere-style rerank (POST /v2/rerank; --cohere-api-version v1 for /v1/rerank), as served by vLLM."""

from rankperf_data.load.users import CohereRerankUser

__all__ = ["CohereRerankUser"]
