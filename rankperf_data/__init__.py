"""rankperf: load testing for ranking / rerank model servers, on Locust."""

__version__ = "0.1.0"
