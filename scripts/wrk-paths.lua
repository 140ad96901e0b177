-- wrk script of scripts/bench.sh and scripts/bench-tracing.sh: cycles over the paths listed in the file
-- $BENCH_PATHS, each thread from a different place, with the bearer token $BENCH_TOKEN.
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
local headers = { ["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN") }
local i = 0
function init(args) i = math.random(#paths) end
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], headers)
end
