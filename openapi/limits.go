package openapi

import (
	"fmt"
	"net/http"
)

// rateLimits documents, on every operation of a path a rate limit applies to
// (restkit.Schema.RateLimitAt), 429 Too Many Requests with Retry-After and the
// RateLimit-* headers, those headers on its other responses, and 503 for a shared
// limiter that fails closed.
func (b *builder) rateLimits() {
	limitHeaders := func(h map[string]*Header) map[string]*Header {
		if h == nil {
			h = map[string]*Header{}
		}
		h["RateLimit-Limit"] = header("The size of the client's token bucket: requests allowed at once.", integerSchema(0))
		h["RateLimit-Remaining"] = header("Requests left in the bucket after this one.", integerSchema(0))
		h["RateLimit-Reset"] = header("Seconds until the bucket is full again.", integerSchema(0))
		return h
	}
	retryAfter := func(desc string) *Header { return header(desc, integerSchema(1)) }
	b.operations(func(path, _ string, op *Operation) {
		rule, _ := b.schema.RateLimitAt(path)
		if rule == nil {
			return
		}
		for _, r := range op.Responses {
			if r.Ref == "" { // a shared response (431) comes from net/http, before the limiter
				r.Headers = limitHeaders(r.Headers)
			}
		}
		envelope := b.envelopeAt(path)
		tooMany := b.errorResponse(envelope, http.StatusTooManyRequests,
			fmt.Sprintf("the client's rate limit (%g per second, %d at once) is used up", rule.Rate, rule.Burst))
		tooMany.Headers = limitHeaders(map[string]*Header{"Retry-After": retryAfter("Seconds to wait before the next request.")})
		op.Responses["429"] = tooMany
		if _, has := op.Responses["503"]; !has {
			down := b.errorResponse(envelope, http.StatusServiceUnavailable,
				"the shared rate limiter (Redis) is unreachable and the server fails closed (--redis-fail-closed)")
			down.Headers = map[string]*Header{"Retry-After": retryAfter("Seconds to wait before trying again.")}
			op.Responses["503"] = down
		}
	})
}

// headerLimit documents 431 on every operation: the server reads at most 64 KiB of
// request headers (http.Server.MaxHeaderBytes, set where the binary builds its
// server), and net/http refuses a request with more before any handler runs: a
// text/plain answer, without the API's error body or headers. e2e's
// TestHeaderLimitIsDocumented holds the two together.
func (b *builder) headerLimit() {
	b.doc.Components.Responses["RequestHeaderFieldsTooLarge"] = &Response{
		Description: "Request Header Fields Too Large: the request's headers exceed 64 KiB; the connection is closed.",
		Content:     map[string]*MediaType{"text/plain": {Schema: &Schema{Type: Types{"string"}}}},
	}
	b.operations(func(_, _ string, op *Operation) {
		op.Responses["431"] = &Response{Ref: "#/components/responses/RequestHeaderFieldsTooLarge"}
	})
}

// storageErrors documents 507 on every operation that writes: a full disk refuses
// any write (records, nouns, history purges, artefacts), with nothing written.
func (b *builder) storageErrors() {
	b.operations(func(path, method string, op *Operation) {
		if method == "get" {
			return
		}
		if _, has := op.Responses["507"]; !has {
			op.Responses["507"] = b.errorResponse(b.envelopeAt(path), http.StatusInsufficientStorage, "the server's disk is full; nothing was written")
		}
	})
}
