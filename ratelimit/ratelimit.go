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

// Allow implements Limiter. It never returns an error.
func (l *Local) Allow(_ context.Context, key string, rule Rule) (Decision, error) {
	if rule.Rate <= 0 || rule.Burst < 1 || math.IsNaN(rule.Rate) || math.IsInf(rule.Rate, 0) {
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
	d := Decision{Limit: rule.Burst, Allowed: lim.AllowN(now, 1)}
	tokens := lim.TokensAt(now)
	if tokens > 0 {
		d.Remaining = int(math.Floor(tokens))
	}
	d.Reset = secondsOf((float64(rule.Burst) - tokens) / rule.Rate)
	if !d.Allowed {
		d.RetryAfter = secondsOf((1 - tokens) / rule.Rate)
	}
	return d
}

func secondsOf(s float64) time.Duration {
	if s <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(s * float64(time.Second)))
}

// Seconds rounds d up to whole seconds, for the headers.
func Seconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}
