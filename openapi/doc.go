// Package openapi writes the OpenAPI 3.1 document of a Schema: every API's resources
// and nouns, the artefact repository when one is served, and /healthz.
//
// The document is derived from the same Field declarations that validate requests,
// so the JSON Schema of a record (types, formats, enums, ranges, lengths, patterns,
// nullability, defaults, the required list) is what the server enforces. Responses
// list the status codes the handlers in httpapi can return, with the RFC 9457
// problem body (or the status envelope of an API with envelope: true) for errors,
// and the headers they set (ETag, Last-Modified, Location, Link, X-Total-Count).
//
// Build returns plain maps and slices: encoding/json writes map keys sorted, so the
// document is deterministic. httpapi serves it at GET /openapi.json and
// `restkit spec` prints it.
package openapi
