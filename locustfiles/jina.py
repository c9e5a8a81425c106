"""Jina AI rerank (POST /v1/rerank with return_documents: false; --top-n is sent as top_n)."""

from rankperf_data.load.users import JinaRerankUser

__all__ = ["JinaRerankUser"]
