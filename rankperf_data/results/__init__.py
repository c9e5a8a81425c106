"""What a run produced: the record type, the outcome vocabulary, a run on disk.

Written by rankperf_data.load, read by rankperf_data.report; imports neither (nor Locust or gevent).
"""
