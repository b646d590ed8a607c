package redislimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/ratelimit"
)

// DefaultPrefix namespaces the keys of a Redis limiter by default.
const DefaultPrefix = "restkit:rl:"

// DefaultTimeout bounds each call a Redis limiter makes by default.
const DefaultTimeout = 500 * time.Millisecond

// UnavailableRetryAfter is the RetryAfter of the ratelimit.Decision a fail-closed Redis limiter
// returns with its Unavailable error: the Retry-After of the 503.
const UnavailableRetryAfter = time.Second

// redisLogEvery is the least time between two log lines about a failing Redis.
const redisLogEvery = 10 * time.Second

// redisRetryEvery is how often a limiter whose Redis failed asks it again.
const redisRetryEvery = time.Second

// errNotAsked is the failure of a request decided without Redis because it failed
// less than redisRetryEvery ago.
var errNotAsked = errors.New("redis failed recently; not asked")

// Log keys.
const (
	logKeyError      = "error"
	logKeySuppressed = "suppressed"
)

// Options configure NewRedis and OpenRedis.
type Options struct {
	// FailOpen chooses what Allow does when Redis cannot answer (unreachable, timed
	// out, erroring): allow the request (true), or refuse it with an Unavailable
	// error (false, the default). See the package documentation.
	FailOpen bool
	// Logger receives a line when Redis fails, at most one per 10 s (the count of
	// failures not logged in between goes with the next), and one when it answers
	// again. Nil discards.
	Logger *slog.Logger
	// Prefix namespaces the keys (default DefaultPrefix). Limiters that are to
	// share buckets, one per node, must use the same prefix.
	Prefix string
	// Timeout bounds each call to Redis (default DefaultTimeout), so that a
	// slow Redis delays no request by more. Once a call failed, Redis is asked
	// again once a second; the requests in between are decided by the policy at
	// once, without waiting.
	Timeout time.Duration
	// OnError, when set, is called once for each request that Redis did not
	// decide (its call failed, or Redis was not asked because it failed less than
	// a second ago), logged or not: for an error counter. It must be safe for
	// concurrent use.
	OnError func(error)
}

// Redis is a ratelimit.Limiter shared by every node that uses the same Redis and prefix. It
// runs GCRA (see the package documentation) in one Lua script per request, through
// github.com/go-redis/redis_rate, on Redis's clock.
type Redis struct {
	client  redis.UniversalClient
	rl      *redis_rate.Limiter
	owned   bool // opened by OpenRedis: Close closes the client
	open    bool
	log     *slog.Logger
	prefix  string
	timeout time.Duration
	onError func(error)

	retryEvery time.Duration
	now        func() time.Time // the clock of the retry and log intervals (tests move it); Redis's own decides the buckets
	retryAt    atomic.Int64     // 0 while Redis answers; else unix nanoseconds before which Allow does not ask it
	lastLog    atomic.Int64     // unix nanoseconds of the last failure logged
	suppressed atomic.Int64     // failures not logged since
}

var _ ratelimit.Ledger = (*Redis)(nil)

// NewRedis returns a limiter over client (a *redis.Client, *redis.ClusterClient or
// any other redis.UniversalClient). Close does not close client.
func New(client redis.UniversalClient, o Options) *Redis {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Redis{
		client:  client,
		rl:      redis_rate.NewLimiter(client),
		open:    o.FailOpen,
		log:     o.Logger,
		prefix:  o.Prefix,
		timeout: o.Timeout,
		onError: o.OnError,

		retryEvery: redisRetryEvery,
		now:        time.Now,
	}
}

// OpenRedis returns a limiter over a new client for url, of the form
// redis://[user:password@]host:port/db (rediss:// for TLS; the query parameters of
// redis.ParseURL apply). It does not connect: call Ping to check Redis is there.
// Close closes the client. A malformed url is an Invalid error.
func Open(url string, o Options) (*Redis, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, &restkit.Error{Kind: restkit.Invalid, Message: "invalid Redis URL", Op: "redislimit.OpenRedis", Err: err}
	}
	l := New(redis.NewClient(opt), o)
	l.owned = true
	return l, nil
}

// Close closes the client if OpenRedis made it.
func (l *Redis) Close() error {
	if l.owned {
		return l.client.Close()
	}
	return nil
}

// Allow implements ratelimit.Limiter. An invalid rule is an error whatever the policy. When
// Redis fails (or failed less than a second ago), a fail-open limiter returns an
// allowing ratelimit.Decision (as from a full bucket: Remaining Burst-1) and no error; a
// fail-closed one returns a refusing ratelimit.Decision with RetryAfter
// UnavailableRetryAfter and an Unavailable *restkit.Error, whose message, "rate
// limiter unavailable", is safe for clients. The HTTP layer answers that with
// 503 Service Unavailable and Retry-After, not with 429: the client did nothing
// wrong.
func (l *Redis) Allow(ctx context.Context, key string, rule ratelimit.Rule) (ratelimit.Decision, error) {
	if !rule.Valid() {
		return ratelimit.Decision{}, fmt.Errorf("redislimit: invalid rule %v", rule)
	}
	if !l.mayAsk() {
		return l.failed(ctx, rule, errNotAsked)
	}
	cctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	res, err := l.rl.Allow(cctx, l.key(rule, key), redisLimit(rule))
	if err != nil {
		return l.failed(ctx, rule, err)
	}
	l.up(ctx)
	d := ratelimit.Decision{Allowed: res.Allowed > 0, Limit: rule.Burst, Remaining: max(res.Remaining, 0), Reset: max(res.ResetAfter, 0)}
	if !d.Allowed {
		d.RetryAfter = max(res.RetryAfter, 0)
	}
	return d, nil
}

// The scripts of Peek and Refund read and write the bucket as redis_rate's GCRA
// script does (github.com/go-redis/redis_rate/v10, lua.go): under "rate:" and the
// key, the theoretical arrival time TAT in seconds since 2017-01-01 UTC on Redis's
// clock, expiring when the bucket is full again. TestRedisPeekAndRefund checks them
// against Allow, so an upgrade of redis_rate that changed that encoding fails it.
const redisRatePrefix = "rate:"

// peekScript returns max(TAT-now, 0): how far the bucket is from full, in seconds.
var peekScript = redis.NewScript(`
local tat = redis.call("GET", KEYS[1])
if not tat then
  return "0"
end
local now = redis.call("TIME")
now = (now[1] - 1483228800) + (now[2] / 1000000)
return tostring(math.max(tonumber(tat) - now, 0))
`)

// refundScript moves TAT back by one emission interval (ARGV[1] seconds): one token
// more. A bucket that this fills is deleted, as redis_rate would let it expire.
var refundScript = redis.NewScript(`
redis.replicate_commands()
local tat = redis.call("GET", KEYS[1])
if not tat then
  return 0
end
local now = redis.call("TIME")
now = (now[1] - 1483228800) + (now[2] / 1000000)
local new_tat = tonumber(tat) - tonumber(ARGV[1])
if new_tat <= now then
  redis.call("DEL", KEYS[1])
else
  redis.call("SET", KEYS[1], new_tat, "EX", math.ceil(new_tat - now))
end
return 1
`)

// Peek implements ratelimit.Ledger, in one read-only script on Redis's clock. When Redis
// fails, the policy decides as for Allow.
func (l *Redis) Peek(ctx context.Context, key string, rule ratelimit.Rule) (ratelimit.Decision, error) {
	if !rule.Valid() {
		return ratelimit.Decision{}, fmt.Errorf("redislimit: invalid rule %v", rule)
	}
	if !l.mayAsk() {
		return l.failed(ctx, rule, errNotAsked)
	}
	cctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	s, err := peekScript.Run(cctx, l.client, []string{redisRatePrefix + l.key(rule, key)}).Text()
	var behind float64
	if err == nil {
		behind, err = strconv.ParseFloat(s, 64)
	}
	if err != nil {
		return l.failed(ctx, rule, err)
	}
	l.up(ctx)
	tokens := float64(rule.Burst) - behind/redisInterval(rule)
	return ratelimit.DecisionAt(rule, tokens, tokens >= 1), nil
}

// Refund implements ratelimit.Ledger, in one script on Redis's clock. When Redis fails (or
// failed less than a second ago) the token is not refunded and the error is
// Unavailable.
func (l *Redis) Refund(ctx context.Context, key string, rule ratelimit.Rule) error {
	if !rule.Valid() {
		return fmt.Errorf("redislimit: invalid rule %v", rule)
	}
	if !l.mayAsk() {
		if ctx.Err() == nil {
			l.fail(ctx, errNotAsked)
		}
		return unavailable("redislimit.Redis.Refund", errNotAsked)
	}
	cctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	interval := strconv.FormatFloat(redisInterval(rule), 'g', -1, 64)
	if err := refundScript.Run(cctx, l.client, []string{redisRatePrefix + l.key(rule, key)}, interval).Err(); err != nil {
		if ctx.Err() == nil {
			l.fail(ctx, err)
		}
		return unavailable("redislimit.Redis.Refund", err)
	}
	l.up(ctx)
	return nil
}

// redisInterval is the emission interval of rule in seconds, as redis_rate computes
// it from redisLimit: Period/Rate.
func redisInterval(rule ratelimit.Rule) float64 {
	lim := redisLimit(rule)
	return lim.Period.Seconds() / float64(lim.Rate)
}

// failed applies the policy to a request Redis did not decide.
func (l *Redis) failed(ctx context.Context, rule ratelimit.Rule, err error) (ratelimit.Decision, error) {
	// A caller that gave up (client gone, its deadline passed) says nothing about Redis.
	if ctx.Err() == nil {
		l.fail(ctx, err)
	}
	if l.open {
		return ratelimit.Decision{Allowed: true, Limit: rule.Burst, Remaining: rule.Burst - 1, Reset: ratelimit.DurationOf(1 / rule.Rate)}, nil
	}
	return ratelimit.Decision{Limit: rule.Burst, RetryAfter: UnavailableRetryAfter}, unavailable("redislimit.Redis.Allow", err)
}

func unavailable(op string, err error) error {
	return &restkit.Error{Kind: restkit.Unavailable, Message: "rate limiter unavailable", Op: op, Err: err}
}

// mayAsk reports whether Allow is to ask Redis: always while it answers; once it
// failed, one request per retryEvery (the others are decided by the policy at once,
// so an outage does not make every request wait for the timeout).
func (l *Redis) mayAsk() bool {
	t := l.retryAt.Load()
	if t == 0 {
		return true
	}
	now := l.now().UnixNano()
	return now >= t && l.retryAt.CompareAndSwap(t, now+int64(l.retryEvery))
}

// Ping checks that Redis answers, for a readiness check; it always asks Redis. Its
// error is Unavailable.
func (l *Redis) Ping(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	if err := l.client.Ping(cctx).Err(); err != nil {
		if ctx.Err() == nil {
			l.fail(ctx, err)
		}
		return unavailable("redislimit.Redis.Ping", err)
	}
	l.up(ctx)
	return nil
}

// Healthy reports whether the last call to Redis (by Allow or Ping) succeeded; true
// before the first. It does not block.
func (l *Redis) Healthy() bool { return l.retryAt.Load() == 0 }

// fail records a failed request: the error hook, the time to ask Redis again (unless
// Redis was not asked) and, at most once per redisLogEvery, a log line.
func (l *Redis) fail(ctx context.Context, err error) {
	if l.onError != nil {
		l.onError(err)
	}
	now := l.now().UnixNano()
	if err != errNotAsked {
		l.retryAt.Store(now + int64(l.retryEvery))
	}
	last := l.lastLog.Load()
	if last != 0 && now-last < int64(redisLogEvery) || !l.lastLog.CompareAndSwap(last, now) {
		l.suppressed.Add(1)
		return
	}
	msg := "redis rate limiter failed; requests refused (fail closed)"
	if l.open {
		msg = "redis rate limiter failed; requests allowed (fail open)"
	}
	l.log.LogAttrs(ctx, slog.LevelError, msg, slog.String(logKeyError, err.Error()),
		slog.Int64(logKeySuppressed, l.suppressed.Swap(0)))
}

// up records a successful call, and logs the recovery from a failure.
func (l *Redis) up(ctx context.Context) {
	if l.retryAt.Load() != 0 && l.retryAt.Swap(0) != 0 {
		l.log.LogAttrs(ctx, slog.LevelInfo, "redis rate limiter answers again")
	}
}

// key names the bucket of (rule, key) in Redis: the prefix and a digest, so that
// keys have a bounded length and client identities (API keys, user names) are not
// stored in the clear. redis_rate puts "rate:" in front.
func (l *Redis) key(rule ratelimit.Rule, key string) string {
	h := sha256.New()
	h.Write([]byte(strconv.FormatFloat(rule.Rate, 'g', -1, 64) + "/" + strconv.Itoa(rule.Burst) + "\x00"))
	h.Write([]byte(key))
	return l.prefix + hex.EncodeToString(h.Sum(nil)[:16])
}

// redisLimit maps a rule to redis_rate's Limit, whose rate is a whole number of
// tokens per Period. GCRA only uses the emission interval Period/Rate, which must be
// 1/rule.Rate seconds: a whole number of tokens per second, minute or hour when the
// rule has one (20/s, 0.5/s = 30/min, 10/min, 5/h); otherwise round(rate·3600)
// tokens per the Period that makes the interval exact to the nanosecond.
func redisLimit(r ratelimit.Rule) redis_rate.Limit {
	for _, p := range []time.Duration{time.Second, time.Minute, time.Hour} {
		n := r.Rate * p.Seconds()
		if w := math.Round(n); w >= 1 && w <= math.MaxInt32 && math.Abs(n-w) <= 1e-9*w {
			return redis_rate.Limit{Rate: int(w), Burst: r.Burst, Period: p}
		}
	}
	n := max(1, math.Min(math.Round(r.Rate*3600), math.MaxInt32))
	p := math.Min(math.Round(n/r.Rate*float64(time.Second)), 1<<62) // past 146 years, who counts
	return redis_rate.Limit{Rate: int(n), Burst: r.Burst, Period: time.Duration(p)}
}
