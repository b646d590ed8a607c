// Package httpapi serves a restkit.Schema over HTTP: routing, content negotiation,
// conditional requests, paging links, body parsing and error rendering.
//
// Decisions live in one place each: StatusOf maps error kinds to status codes (with
// package status's table); parseList parses every list query string; readObject and
// restkit.ParseObject parse every body; checkWrite and notModified evaluate every
// precondition. Handlers never build SQL and the store never sees HTTP.
//
// Writes are read-modify-write through restkit.Store.WriteRecord: the handler passes a
// Change that checks If-Match and validates the body against the record as it is inside
// the store's transaction, so a precondition can never pass on a stale read.
//
// Paging is keyset by default. A list is ordered by its sort fields and then the key,
// which makes the order total; a page boundary is the sort values of its edge row,
// carried in an opaque signed cursor. The store seeks to the boundary through an index,
// so page 50,000 costs what page 1 costs. page=N offset paging exists for small sets and
// is capped at the resource's max_offset rows (10,000 by default).
//
// Every route is registered through Server.route with a guard (auth.go): the one
// place where access is decided, and the list Server.Routes returns (restkit routes,
// the authorization sweep). Around the router, outermost first: one layer (serve,
// middleware.go) that gives the request its id (X-Request-ID, in every log line), sets
// the headers every response carries, and counts it for /metrics (by route pattern)
// and in the request log, through one response writer and one per-request context
// value that the guards' audit and the caller share, so that a request is not copied
// once per context value nor wrapped once per observer; then CORS, authentication
// (the cheap part: bearer keys, remembered passwords), rate limits (per caller),
// slow-body protection, and the refusal of dot segments in artefact paths. A password
// seen for the first time is checked by the guard, after the rate limit, a per-address
// limit on checks and a per-account limit on failures (signin.go), which also refuses
// remembered passwords of an account over it.
// /healthz and /readyz are open; /docs, /openapi.json and /metrics are pages whose
// openness auth.public sets.
package httpapi
