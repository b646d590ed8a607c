// Package metrics exposes restkit's Prometheus metrics: HTTP traffic by route,
// store, blob and rate-limit failures, and the Go runtime and process.
//
// New makes a Metrics with a registry of its own (not the global default one, so
// tests and several servers in one process do not collide). Handler serves it at
// GET /metrics; Middleware, wrapped around the whole HTTP handler, records every
// request. The counting methods (StoreError, BlobError, LimiterDenied,
// LimiterError) and Middleware do nothing on a nil *Metrics, so code that may
// run without metrics needs no checks.
//
// # Routes, not paths
//
// Every distinct set of label values is a time series that Prometheus stores and
// indexes for as long as it is kept. A path label would make one series per car,
// per artefact, per typo a scanner tries: without bound, chosen by clients, and
// enough to exhaust the memory of the server and of Prometheus. So the route label
// is the http.ServeMux pattern that matched ("/cars/{key}"), of which there are
// as many as the config declares, and a request no pattern matched is
// "unmatched". Since Go 1.22 the mux sets Request.Pattern, on the *http.Request
// it was given: Middleware reads it there when the mux gets the very request
// Middleware passed on. A middleware in between that copies the request
// (r.WithContext) hides it; then wrap the mux (or its handlers) in Route, or call
// SetRoute from the handler, which also lets a catch-all handler say "unmatched".
// For safety the labels are bounded whatever routers report: at most MaxRoutes
// distinct routes (the rest are "other") and the standard methods (the rest are
// "OTHER").
//
// # The metrics
//
//   - restkit_http_requests_total{route,method,status}: requests answered, counted
//     when the handler returns. A handler that writes nothing answers 200; one
//     that panics before writing counts as 500.
//   - restkit_http_request_duration_seconds{route,method}: histogram of the time
//     from the request's headers to the handler's return (DurationBuckets, 1 ms to
//     2 min: uploads and downloads of artefacts take long).
//   - restkit_http_request_bytes_total{route,method}: request body bytes the
//     handlers read (not the headers; not a body left unread).
//   - restkit_http_response_bytes_total{route,method}: response body bytes written,
//     including those sent by sendfile through io.ReaderFrom.
//   - restkit_http_requests_in_flight: requests being served now.
//   - restkit_store_errors_total{op}: record store operations that failed with an
//     internal error (not a 404 or a conflict: those are answers, not failures).
//   - restkit_blob_errors_total{op}: the same for the blob store.
//   - restkit_ratelimit_denied_total{scope}: requests refused with 429, by the
//     scope of the limit ("default", "api:/v1", "resource:/cars"; "sign-in:address"
//     and "sign-in:account" for the limits on password checks).
//   - restkit_ratelimit_errors_total: requests the limiter could not decide because
//     its store (Redis) failed; its fail-open policy allowed or refused them.
//   - go_* and process_*: the Go runtime (goroutines, memory, GC) and the process
//     (CPU, resident memory, open files).
//
// The wrapped ResponseWriter keeps Flush, ReadFrom and, through Unwrap and
// http.ResponseController, everything else the writer under it can do.
package metrics
