// Package redislimit is the rate limiter shared by every node of a cluster: a
// ratelimit.Limiter (and Ledger) whose buckets live in Redis, so that a client's
// limit holds whichever node it reaches. It is a package of its own so that
// ratelimit, and a program that embeds httpapi on one node, do not link go-redis.
//
// # GCRA: the token bucket in one number
//
// The Redis limiter runs GCRA, the generic cell rate algorithm, through
// github.com/go-redis/redis_rate (one Lua script per request, atomic in Redis). It
// answers exactly as the token bucket above, but stores one number per bucket
// instead of a count and a time: the theoretical arrival time TAT, the moment the
// bucket would be full again. With T = 1/Rate seconds between tokens (the emission
// interval), the bucket at time now holds
//
//	tokens = Burst - max(TAT-now, 0)/T
//
// A request is allowed when taking its token leaves tokens >= 0, that is when
// max(TAT, now) + T - Burst·T <= now; it then sets TAT to max(TAT, now) + T. So an
// empty key (TAT in the past) allows Burst requests at once, then one per T, and
// the headers come out the same as Local's: Remaining is the tokens left, rounded
// down; Reset is TAT-now; RetryAfter, when refused, is the time until
// tokens reaches 1. The Lua script reads Redis's clock (TIME), so the nodes'
// clocks need not agree. A key expires when its bucket is full again, so idle
// clients cost nothing.
//
// redis_rate counts a whole number of tokens per period; a Rule's rate is any
// positive float. Only T matters, so a Rule maps to a whole number per second,
// minute or hour when it has one (20/s; 0.5/s is 30 per minute; 10/min; 5/h) and
// otherwise to round(Rate·3600) tokens per the period that makes T exact to the
// nanosecond.
//
// Keys are "rate:" (redis_rate's), the prefix (DefaultPrefix unless
// Options.Prefix says otherwise) and a SHA-256 digest of the rule and the
// client key: two rules never share a bucket (as with Local), keys have a bounded
// length, and API keys and user names are not stored in Redis in the clear.
//
// # When Redis fails: fail open or fail closed
//
// If Redis cannot answer in time (Options.Timeout), the limiter cannot count,
// and Options.FailOpen decides:
//
//   - Fail open: the request is allowed (the Decision of a full bucket) and Allow
//     returns no error. The API stays up, unlimited, while Redis is down.
//   - Fail closed (the default): Allow returns an Unavailable *restkit.Error with a
//     refusing Decision (RetryAfter UnavailableRetryAfter). The HTTP layer answers
//     503 Service Unavailable with Retry-After, not 429: the client is not over
//     its limit, the server cannot tell. Choose it when the limit protects
//     something that must not be overrun.
//
// Either way the failure is logged, at most one line per 10 s so that an outage
// does not flood the log (the line carries how many failures went unlogged), and
// Options.OnError is called for each request, for a metric. After a failure
// Redis is asked again at most once a second; the requests in between are decided
// by the policy at once rather than each waiting for the timeout. Ping asks Redis
// now and Healthy reports the last answer, for a readiness check. A request whose
// own context ends while Redis is asked is decided by the policy but not counted
// as a Redis failure.
package redislimit
