// Package feed follows a store's change log and hands its events to live readers:
// the Server-Sent Events streams of package httpapi.
//
// The change log (restkit.EventLog) is the truth: every committed write appended
// its events there in its own transaction, numbered by Seq in commit order. A Feed
// reads the log's tail — when the store says something was committed
// (EventLog.Subscribe: after a local commit, or a NOTIFY from another node), and
// once a second in any case, so that a lost wake-up delays an event by at most the
// poll — and keeps the newest events in memory, in a ring of bounded size.
//
// Readers do not get a buffer each. A reader remembers the last Seq it sent and asks
// for what follows (Read): from the ring when it holds it, from the store when the
// reader is further behind (a client resuming with Last-Event-ID after a restart).
// So a thousand idle streams cost a thousand goroutines parked on one channel, the
// cost of a write's fan-out is one read of the log however many streams there are,
// and a reader that cannot keep up holds no memory: it falls behind the ring, and
// the stream drops it (it may resume from its last id).
//
// Each ring entry also carries a memo, computed once by the first reader that needs
// it, so that a thousand streams of one resource decode and render an event once.
package feed
