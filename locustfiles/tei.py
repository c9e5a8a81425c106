"""Hugging Face TEI rerank (POST /rerank)."""

from rankperf_data.load.users import TeiRerankUser

__all__ = ["TeiRerankUser"]
