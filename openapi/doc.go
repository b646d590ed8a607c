// Package openapi writes the OpenAPI 3.1 document of a Schema — every API's resources
// and nouns, the artefact repository when one is served, /healthz and /openapi.json —
// and the HTML reference page (Docs, RenderDocs).
//
// The document is derived from the same Field declarations that validate requests,
// so the JSON Schema of a record (types, formats, enums, ranges, lengths, patterns,
// nullability, defaults, the required list) is what the server enforces. Responses
// list the status codes the handlers in httpapi can return, with the RFC 9457
// problem body (or the status envelope of an API with envelope: true) for errors,
// and the headers they set (ETag, Last-Modified, Location, Link, X-Total-Count).
//
// Build returns a *Document of typed structs (model.go): encoding/json writes them in
// a fixed order, so the document is the same bytes for the same Schema, and the
// package has no dependency beyond the standard library, which keeps the device
// build small. The files follow the document's aspects: schemas.go (fields, records,
// error bodies), operations.go (resources, history, nouns), artefacts.go,
// security.go (schemes, requirements, 401/403) and limits.go (431, 429, 503, 507 on
// the operations they apply to). httpapi serves the document at GET /openapi.json
// and `restkit spec` prints it.
//
// The document is checked from outside too: the e2e suite validates every response
// it gets against the served document, the document against the OpenAPI 3.1 schema,
// lints it with Redocly and Spectral, and generates Go and TypeScript clients from
// it (tools/speclint, e2e/testdata/goclient).
package openapi
