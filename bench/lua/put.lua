-- PUT or PATCH /cars/{id} of an existing car, ids uniformly random in 1..N (N = the
-- second script argument, default 10000; the third is the method, PUT by default).
-- Each wrk thread seeds its generator from its own index, so the baseline and restkit
-- get the same sequence of requests. PUT sends the whole car, PATCH a new year.
local threads = 0

function setup(thread)
   thread:set("tid", threads)
   threads = threads + 1
end

function init(args)
   n = tonumber(args[2]) or 10000
   method = args[3] or "PUT"
   math.randomseed(104729 + (tid or 0))
   headers = { ["Content-Type"] = "application/json" }
end

function request()
   local id = math.random(1, n)
   local year = math.random(1990, 2024)
   local body
   if method == "PATCH" then
      body = string.format('{"year":%d}', year)
   else
      body = string.format('{"id":%d,"model":"Bench","color":"blue","year":%d}', id, year)
   end
   return wrk.format(method, "/cars/" .. id, headers, body)
end
