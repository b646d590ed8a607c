// Package webhook delivers the change log's events to HTTP endpoints, signed per
// the Standard Webhooks specification (DESIGN §12; the webhooks: section of a
// config).
//
// # The outbox is the change log
//
// Every store appends an event to its change log in the transaction of the write
// that caused it (restkit.EventLog), with a Seq that grows in commit order. That log
// is the durable outbox: nothing else is written when a record changes, so a write
// can never commit without its event, nor an event exist without its write. Each
// endpoint has a cursor in the store's server state (restkit.StateStore, shared by
// every node): the Seq of the last event it is done with. A Dispatcher reads the log
// after the cursor, skips the events the endpoint's patterns do not match, and makes
// one attempt at the first that matches; the cursor moves past it only once the
// endpoint answered 2xx, or the delivery was dead-lettered. Deliveries are therefore
// at least once (a crash between the answer and the cursor's move repeats one) and
// in Seq order per endpoint. An endpoint seen for the first time starts at the
// newest event: it receives what is written from then on, not the log's history.
// Horizon, the lowest cursor, is what the log's pruning must keep.
//
// # A delivery
//
// A POST of the payload (Standard Webhooks "Payload structure"):
//
//	{"type":"cars.created","timestamp":"2024-05-01T12:00:00.123Z","seq":17,"data":{"id":5,"model":"Golf"}}
//
// data is the record as GET shows it after the write (recordjson renders both), its
// key alone for a delete, a noun's state, or the repository's own JSON for an
// artefact. The headers are webhook-id (evt_<store>_<seq>: the same on every attempt
// and every node, so receivers drop repeats by it; <store> is a random name the store
// keeps, so a new database never reuses the ids of an old one), webhook-timestamp
// (the attempt's time, Unix seconds) and webhook-signature ("v1," and the base64 of
// HMAC-SHA256(key, id.timestamp.body), the key being the secret's base64 after
// whsec_), with Content-Type, User-Agent and the endpoint's own headers.
//
// # Retries and dead letters
//
// A failed attempt — no 2xx within the timeout, a redirect (not followed), a refused
// destination — is retried after about First (1 s), then twice as long each time up
// to Max (10 min), each wait shortened by up to a fifth at random so that endpoints
// that failed together do not retry together. The schedule (attempts, the first
// attempt's time, the next one's) is kept with the cursor, so a restart resumes it.
// When the next attempt would come more than GiveUp (24 h) after the first, the
// delivery is dead-lettered: kept in server state with its payload (pruning the log
// cannot lose it), bounded in number and bytes, listed by the admin API and sent
// again by its retry route. The endpoint is then down: while it keeps failing, each
// later event gets one attempt (a new 24 h for each would hold every later event back
// for days), until a success ends the run of failures.
//
// # Several nodes
//
// Nodes sharing a store (PostgreSQL) share the cursors, and one node at a time holds
// each endpoint: a lease (holder and expiry) kept in the endpoint's state, taken when
// free or expired, renewed every third of its length while the node delivers, given
// back when it stops. Every change to the endpoint's state checks the lease in the
// same atomic WriteState, so a node that lost its lease (stalled past its expiry)
// cannot move the cursor another node now owns. The server names a node after its
// data directory (node.id), so a node restarted after a crash takes its endpoints
// back at once; another node takes them over when the lease expires (30 s).
//
// A node wakes on EventLog.Subscribe (LISTEN/NOTIFY across PostgreSQL nodes) and also
// reads the log every Poll (1 s) as a safety net. Time comes from a Clock, so tests
// move it by hand instead of waiting for a backoff.
//
// # Outbound safety
//
// dial.go: every connection is checked at dial time (net.Dialer.Control, after name
// resolution, so DNS rebinding cannot get around it); loopback, private, link-local,
// unspecified, multicast and the other non-public blocks are refused unless
// allow_hosts lists the URL's host name, the address, or a prefix holding it. No
// environment proxy, no redirects, a timeout per attempt (10 s), at most 64 KiB of an
// answer read.
package webhook
