"""`rankperf serve`: a reference rerank server (TEI, Cohere/vLLM, NIM) with a capacity model and fault injection.

Layout: http.py (HTTP/1.1 on asyncio), app.py (routes, auth, faults, answers), tei.py / cohere.py /
nim.py (each API's request parsing and response/error shapes), scoring.py (the simulated model),
capacity.py (its timing), faults.py, metrics.py, main.py (the command), testing.py (subprocess helper).
It imports nothing from Locust, gevent, rankperf_data.load or rankperf_data.report.
"""
