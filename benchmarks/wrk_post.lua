-- wrk script: POST the body file named by BENCH_BODY_FILE (one rankperf request body, same bytes)
-- to the URL given on the command line, as JSON, over wrk's keep-alive connections.
local f = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
