-- GET /cars/{id}, ids uniformly random in 1..N (N = the second script argument,
-- default 10000). Each wrk thread seeds its generator from its own index, so the
-- baseline and restkit are asked for the same sequence of ids.
local threads = 0

function setup(thread)
   thread:set("tid", threads)
   threads = threads + 1
end

function init(args)
   n = tonumber(args[2]) or 10000
   math.randomseed(7919 + (tid or 0))
end

function request()
   return wrk.format("GET", "/cars/" .. math.random(1, n))
end
