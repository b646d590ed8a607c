// Package ratelimit limits how often one client may call the server.
//
// # The token bucket
//
// A Rule is a token bucket: it holds at most Burst tokens and gains Rate tokens per
// second, up to Burst. Each request takes one token; a request that finds the bucket
// empty is refused. So a client may send Burst requests at once, and then Rate
// requests per second for as long as it likes. A bucket left alone refills completely
// after Burst/Rate seconds.
//
// Each (rule, key) pair has its own bucket. The key names the client: the
// authenticated API key or user when there is one, else the client's IP address (see
// ClientKey). Callers that want separate buckets for separate parts of the server
// under one rule put the part into the key.
//
// # The headers
//
// A Decision carries what the HTTP layer sends back:
//
//   - RateLimit-Limit: the bucket's size (Burst).
//   - RateLimit-Remaining: the whole tokens left after this request.
//   - RateLimit-Reset: seconds (rounded up) until the bucket is full again.
//   - Retry-After, on a refused request only (429 Too Many Requests): seconds
//     (rounded up, at least 1) until one token is there again.
//
// # Limiters
//
// Limiter is the interface. NewLocal is the in-process limiter, over
// golang.org/x/time/rate. It is right for one node. Several nodes behind a load
// balancer need a shared limiter: with local limiters each node keeps its own
// buckets, so a client gets up to one bucket per node. redislimit.New (or Open) is
// the shared one: every node that uses the same Redis and key prefix counts in the
// same buckets. Both are Ledgers too: Peek reads a bucket without taking a token,
// and Refund gives back one that Allow took, so that a caller can take a token
// before costly work and count only some of its outcomes (httpapi counts failed
// password checks per account that way).
//
// The shared limiter lives in package redislimit, so that a program embedding
// httpapi without several nodes does not link a Redis client.
package ratelimit
