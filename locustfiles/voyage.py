"""Voyage AI rerank (POST /v1/rerank; --top-n is sent as top_k; the answer's list is `data`)."""

from rankperf_data.load.users import VoyageRerankUser

__all__ = ["VoyageRerankUser"]
