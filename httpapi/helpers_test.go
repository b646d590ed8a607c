package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func httptestRequest(accept string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/cars", nil)
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	return r
}

// mustNew is New for tests: it fails the test when New refuses its options.
func mustNew(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := New(opts)
	if err != nil {
		tb.Fatalf("httpapi.New: %v", err)
	}
	return s
}
