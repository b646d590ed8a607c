// Package restkit holds the domain of restkit: the declarations a server is made
// from (Schema, API, Resource, Noun, Field), the values it keeps (Record), list
// requests (Query, Page), the one error type (Error and its Kinds) and the Store
// interface the storage packages implement.
//
// It imports only the standard library and knows no database and no HTTP, so that
// every other package (config, memory, sqlite, httpapi, cmd/restkit) depends on it and
// never on each other. A declaration is made once — in YAML through package config, or
// in Go — and serves three uses: Resource.Build validates request bodies against it,
// stores derive their columns and indexes from it, and the OpenAPI writer derives the
// schemas clients see.
//
// Values are canonical: each FieldType has exactly one Go type (string, int64,
// float64, bool, time.Time), produced by Field.Canonical from what the strict JSON
// parser (ParseObject) yields, so stores and encoders switch on a small closed set.
package restkit
