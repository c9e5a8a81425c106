"""All three rerank user classes: pick one in the web UI (--class-picker) or name it on the CLI."""

from rankperf_data.load.users import CohereRerankUser, NimRankingUser, TeiRerankUser

__all__ = ["TeiRerankUser", "CohereRerankUser", "NimRankingUser"]
