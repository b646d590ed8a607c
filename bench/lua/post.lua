-- POST /cars with a new id every time. wrk threads share nothing, so each thread takes
-- its own range of ids. wrk hands init() the arguments after the URL: args[1] is the
-- phase base (0 for the warm-up, 100,000,000 for the measured run) and args[2] the
-- round (1, 2, ...), so the ids of thread t are
--   10,000 + (round-1) * 200,000,000 + phase + t * 10,000,000 + 1, 2, 3, ...
-- which never meet across threads (up to 10), phases and rounds, and are all above the
-- seeded cars. A collision would show up as Non-2xx responses (409) in wrk's output.
-- (run.sh gives the durable POST scenario rounds of its own, 101, 102, …, as the
-- baseline writes both kinds of POST into the same table.) The path is the URL's.
local threads = 0

function setup(thread)
   thread:set("tid", threads)
   threads = threads + 1
end

function init(args)
   local phase = tonumber(args[1]) or 0
   local round = tonumber(args[2]) or 1
   nextid = 10000 + (round - 1) * 200000000 + phase + (tid or 0) * 10000000
   headers = { ["Content-Type"] = "application/json" }
end

function request()
   nextid = nextid + 1
   local body = string.format('{"id":%d,"model":"Bench","color":"red","year":2020}', nextid)
   return wrk.format("POST", wrk.path, headers, body) -- /cars, or the baseline's /durable/cars
end
