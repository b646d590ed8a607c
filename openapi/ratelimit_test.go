package openapi_test

import (
	"testing"

	"github.com/restkit/restkit/config"
	"github.com/restkit/restkit/openapi"
)

// TestRateLimitResponses: with limits declared, every limited operation documents 429
// with Retry-After and RateLimit-*, and the RateLimit-* headers on its other answers;
// /healthz and operations with limits off document neither.
func TestRateLimitResponses(t *testing.T) {
	c, err := config.Parse("t.yaml", []byte(`ratelimit: {rate: 2/s, burst: 3}
apis:
  - resources:
      cars: {key: id, fields: {id: {type: integer}}}
      logs: {key: id, fields: {id: {type: integer}}, ratelimit: off}
`))
	if err != nil {
		t.Fatal(err)
	}
	paths := openapi.Build(c.Schema, openapi.Options{}).Paths
	responses := func(path, verb string) map[string]*openapi.Response {
		for _, m := range paths[path].Operations() {
			if m.Method == verb {
				return m.Operation.Responses
			}
		}
		t.Fatalf("no %s %s", verb, path)
		return nil
	}
	for _, p := range []string{"/cars", "/cars/{id}", "/openapi.json"} {
		r := responses(p, "get")["429"]
		if r == nil {
			t.Fatalf("%s: no 429", p)
		}
		h := r.Headers
		for _, name := range []string{"Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} {
			if h[name] == nil {
				t.Errorf("%s 429 lacks %s", p, name)
			}
		}
		if responses(p, "get")["200"].Headers["RateLimit-Remaining"] == nil {
			t.Errorf("%s 200 lacks RateLimit-Remaining", p)
		}
	}
	for _, p := range []string{"/logs", "/healthz"} {
		if responses(p, "get")["429"] != nil {
			t.Errorf("%s documents 429", p)
		}
	}
}
