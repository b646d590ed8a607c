package webhook

import "time"

// Clock is the time a Dispatcher runs on: when attempts are made, how long backoff
// and leases last. Tests give one they advance by hand, so that no test waits for a
// backoff in real time.
type Clock interface {
	Now() time.Time
	// At returns a channel that receives once the clock reads t or later (at once
	// when it already does). A deadline rather than a duration: a test clock moved
	// between a caller's Now and its At cannot strand the caller.
	At(t time.Time) <-chan time.Time
}

// realClock is the Clock of the machine.
type realClock struct{}

func (realClock) Now() time.Time                  { return time.Now() }
func (realClock) At(t time.Time) <-chan time.Time { return time.After(time.Until(t)) }
