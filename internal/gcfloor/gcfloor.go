// Package gcfloor gives the garbage collector a minimum heap target.
//
// Go starts a collection when the heap has grown by GOGC percent (100) over what the
// last one left live, with a floor of 4 MiB. A server like restkit keeps only a few
// MiB live and allocates a few KiB per request, so at thousands of requests a second
// it collects many times a second, and every cycle marks the whole live heap and
// every goroutine's stack again: under wrk, the mark workers were 5 % of restkit's
// CPU on a GET by id against 1.5 % for a plain net/http program (bench/README.md).
//
// Start raises GOGC after each collection so that the next target is about Floor
// bytes: with 3 MiB live and a 32 MiB floor, GOGC becomes 800 and a cycle comes
// every 29 MiB of allocation instead of every 3 or so. Once the live heap passes Floor/2
// the percentage is back at its base, and the collector behaves as it always does:
// in steady state the floor costs at most Floor bytes of garbage, never a multiple
// of a large heap. (The percentage is set after a cycle, for the next: a live heap
// that jumps from a few MiB to hundreds within one cycle gets, for that one cycle, a
// target of up to Floor/4 MiB times itself. A GOMEMLIMIT bounds that too: the runtime
// applies it on top.)
//
// It adjusts after each cycle from a finalizer that re-arms itself (the runtime has
// no hook for the end of a cycle), reading the live heap from runtime/metrics.
package gcfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// tuner is the state of one Start.
type tuner struct {
	floor   uint64
	base    int        // the GOGC percentage the floor is raised from
	set     int        // the percentage last set
	mu      sync.Mutex // orders adjust's SetGCPercent with stop's
	stopped bool
	sample  []metrics.Sample
}

// sentinel is the object whose finalizer runs once per collection.
type sentinel struct{ t *tuner }

// Start keeps the heap target at floor bytes or more until stop is called, which
// puts back the percentage it found. It does nothing (and stop does nothing) when
// the collector is off (GOGC=off) or floor is 0.
func Start(floor uint64) (stop func()) {
	base := debug.SetGCPercent(100)
	debug.SetGCPercent(base)
	if base < 0 || floor == 0 {
		return func() {}
	}
	t := &tuner{floor: floor, base: base, set: base, sample: []metrics.Sample{
		{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/stack:bytes"}, {Name: "/gc/scan/globals:bytes"}}}
	t.adjust()
	t.arm()
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if !t.stopped {
			t.stopped = true
			debug.SetGCPercent(t.base)
		}
	}
}

func (t *tuner) arm() {
	s := &sentinel{t: t}
	runtime.SetFinalizer(s, func(s *sentinel) {
		if s.t.adjust() {
			s.t.arm()
		}
	})
}

// adjust sets the percentage that makes the next target Floor (or base's target,
// when that is larger), and reports false once stopped.
func (t *tuner) adjust() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	metrics.Read(t.sample)
	var v [3]uint64
	for i, s := range t.sample {
		if s.Value.Kind() != metrics.KindUint64 {
			return true
		}
		v[i] = s.Value.Uint64()
	}
	if v[0] == 0 {
		return true // no collection has measured it yet
	}
	if p := Percent(v[0], v[0]+v[1]+v[2], t.floor, t.base); p != t.set {
		t.set = p
		debug.SetGCPercent(p)
	}
	return true
}

// Percent is the GOGC percentage whose heap target is floor, never below base, for
// a live heap of live bytes and scan bytes to mark (the live heap, the goroutines'
// stacks and the globals). Since Go 1.18 the target is live + scan × GOGC/100, but
// never below the runtime's minimum heap, 4 MiB × GOGC/100: so the percentage is
// capped where that minimum reaches floor. A live heap of 0 (not measured yet)
// gives base.
func Percent(live, scan, floor uint64, base int) int {
	if live == 0 || live >= floor {
		return base
	}
	p := int((floor - live) * 100 / max(scan, live))
	return max(base, min(p, int(floor*100/runtimeMinHeap)))
}

// runtimeMinHeap is the runtime's minimum heap target at GOGC=100 (heapMinimum).
const runtimeMinHeap = 4 << 20
