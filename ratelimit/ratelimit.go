package ratelimit

import (
	"container/list"
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rule is a token bucket: Burst tokens at most, refilled at Rate tokens per second.
type Rule struct {
	Rate  float64 // tokens per second; must be positive
	Burst int     // the bucket's size; must be at least 1
}

func (r Rule) String() string { return fmt.Sprintf("%g/s burst %d", r.Rate, r.Burst) }

// Decision is a limiter's answer for one request.
type Decision struct {
	Allowed    bool
	Limit      int           // the bucket's size (Rule.Burst)
	Remaining  int           // whole tokens left after this request
	Reset      time.Duration // until the bucket is full again
	RetryAfter time.Duration // when refused: until one token is there again; 0 when allowed
}

// A Limiter takes one token from the bucket of (rule, key), if it can.
// Implementations are safe for concurrent use.
type Limiter interface {
	Allow(ctx context.Context, key string, rule Rule) (Decision, error)
}

// A Ledger is a Limiter whose buckets can also be read without taking a token
// (Peek) and credited with a token that Allow took (Refund). With them a caller can
// count only some outcomes of the work a token pays for: the sign-in limit of
// httpapi takes a token before a password check, so that concurrent guesses cannot
// all pass while the bucket still looks full, and refunds it when the password was
// right, so that only failures count. Local and Redis are Ledgers.
type Ledger interface {
	Limiter
	// Peek describes the bucket of (rule, key) as Allow would, without taking a
	// token: Allowed reports whether Allow would allow now, Remaining counts the
	// whole tokens there are, and RetryAfter, when not allowed, is the time until
	// one is there.
	Peek(ctx context.Context, key string, rule Rule) (Decision, error)
	// Refund puts back one token that Allow took from the bucket of (rule, key). A
	// bucket never holds more than Burst tokens: a refund to a full one is lost.
	Refund(ctx context.Context, key string, rule Rule) error
}

// DefaultMaxKeys is how many buckets a Local limiter keeps at most by default.
const DefaultMaxKeys = 100_000

// LocalOptions configure NewLocalWith.
type LocalOptions struct {
	// MaxKeys bounds the buckets kept (default DefaultMaxKeys). Past it, the least
	// recently used bucket is dropped: its client starts again with a full bucket.
	MaxKeys int
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Local is the in-process Limiter: one rate.Limiter per (rule, key).
//
// Memory is bounded two ways. Buckets are kept in least-recently-used order and
// there are never more than MaxKeys of them (the least recently used goes first).
// And each call looks at the least recently used buckets and drops those that have
// refilled completely: a full bucket is the same as no bucket, so dropping it
// changes no answer. An idle client's bucket therefore goes away once it is full.
type Local struct {
	mu      sync.Mutex
	max     int
	now     func() time.Time
	buckets map[bucketKey]*list.Element // of *bucket
	lru     list.List                   // front: most recently used
}

type bucketKey struct {
	rule Rule
	key  string
}

type bucket struct {
	id  bucketKey
	lim *rate.Limiter
}

// NewLocal returns an in-process limiter with the default options.
func NewLocal() *Local { return NewLocalWith(LocalOptions{}) }

// NewLocalWith returns an in-process limiter.
func NewLocalWith(o LocalOptions) *Local {
	if o.MaxKeys <= 0 {
		o.MaxKeys = DefaultMaxKeys
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Local{max: o.MaxKeys, now: o.Now, buckets: map[bucketKey]*list.Element{}}
}

// Len reports how many buckets are kept.
func (l *Local) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// sweepPerCall bounds the idle buckets looked at on each call.
const sweepPerCall = 4

var _ Ledger = (*Local)(nil)

// Allow implements Limiter. It returns an error only for an invalid rule.
func (l *Local) Allow(_ context.Context, key string, rule Rule) (Decision, error) {
	if !validRule(rule) {
		return Decision{}, fmt.Errorf("ratelimit: invalid rule %v", rule)
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	id := bucketKey{rule, key}
	var b *bucket
	if e, ok := l.buckets[id]; ok {
		l.lru.MoveToFront(e)
		b = e.Value.(*bucket)
	} else {
		b = &bucket{id: id, lim: rate.NewLimiter(rate.Limit(rule.Rate), rule.Burst)}
		l.buckets[id] = l.lru.PushFront(b)
	}
	l.sweep(now)
	for len(l.buckets) > l.max {
		l.drop(l.lru.Back())
	}
	return decide(b.lim, rule, now), nil
}

// Peek implements Ledger. It keeps no bucket for a key it has not seen (that bucket
// is full) and does not count as a use of the bucket for the least-recently-used order.
func (l *Local) Peek(_ context.Context, key string, rule Rule) (Decision, error) {
	if !validRule(rule) {
		return Decision{}, fmt.Errorf("ratelimit: invalid rule %v", rule)
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	tokens := float64(rule.Burst)
	if e, ok := l.buckets[bucketKey{rule, key}]; ok {
		tokens = e.Value.(*bucket).lim.TokensAt(now)
	}
	return describe(rule, tokens, tokens >= 1), nil
}

// Refund implements Ledger. A bucket that the token fills is dropped, as the sweep
// would drop it: a full bucket is the same as none.
func (l *Local) Refund(_ context.Context, key string, rule Rule) error {
	if !validRule(rule) {
		return fmt.Errorf("ratelimit: invalid rule %v", rule)
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.buckets[bucketKey{rule, key}]
	if !ok {
		return nil // full already
	}
	lim := e.Value.(*bucket).lim
	if lim.TokensAt(now)+1 >= float64(rule.Burst) {
		l.drop(e)
		return nil
	}
	// Taking -1 tokens adds one: rate.Limiter has no other way to credit a bucket,
	// and this one stays below Burst (checked above), where the arithmetic is exact.
	lim.AllowN(now, -1)
	return nil
}

// sweep drops up to sweepPerCall of the least recently used buckets that are full.
func (l *Local) sweep(now time.Time) {
	for i := 0; i < sweepPerCall; i++ {
		e := l.lru.Back()
		if e == nil || e == l.lru.Front() {
			return
		}
		b := e.Value.(*bucket)
		if b.lim.TokensAt(now) < float64(b.id.rule.Burst) {
			return
		}
		l.drop(e)
	}
}

func (l *Local) drop(e *list.Element) {
	b := l.lru.Remove(e).(*bucket)
	delete(l.buckets, b.id)
}

// decide takes one token at now, if there is one, and describes the bucket after.
func decide(lim *rate.Limiter, rule Rule, now time.Time) Decision {
	allowed := lim.AllowN(now, 1)
	return describe(rule, lim.TokensAt(now), allowed)
}

// describe is the Decision for a bucket of rule holding tokens.
func describe(rule Rule, tokens float64, allowed bool) Decision {
	d := Decision{Limit: rule.Burst, Allowed: allowed}
	if tokens > 0 {
		d.Remaining = int(math.Floor(tokens))
	}
	d.Reset = secondsOf((float64(rule.Burst) - tokens) / rule.Rate)
	if !d.Allowed {
		d.RetryAfter = secondsOf((1 - tokens) / rule.Rate)
	}
	return d
}

// DecisionAt is the Decision of rule for a bucket holding tokens, allowed or not:
// what any limiter that knows its bucket's tokens answers (Local, and the Redis
// limiter's Peek), so that both say the same in the same state.
func DecisionAt(rule Rule, tokens float64, allowed bool) Decision {
	return describe(rule, tokens, allowed)
}

// Valid reports whether the rule can be enforced: a positive, finite rate and a burst
// of at least one.
func (r Rule) Valid() bool { return validRule(r) }

// DurationOf converts seconds to a Duration, rounded to the nanosecond (not up: see
// secondsOf), for limiters that compute in seconds.
func DurationOf(seconds float64) time.Duration { return secondsOf(seconds) }

func validRule(r Rule) bool {
	return r.Rate > 0 && r.Burst >= 1 && !math.IsNaN(r.Rate) && !math.IsInf(r.Rate, 0)
}

// secondsOf converts seconds to a Duration, rounded to the nanosecond: the float
// arithmetic leaves noise well below it (11 s into a 12 s refill, 1-11·(5/60) tokens
// at 5/60 a second is 1.0000000000000004 s), which rounding up would make a whole
// second more in the headers.
func secondsOf(s float64) time.Duration {
	if s <= 0 {
		return 0
	}
	return time.Duration(math.Round(s * float64(time.Second)))
}

// Seconds rounds d up to whole seconds, for the headers.
func Seconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}
