package e2e

import (
	"strings"
	"testing"
)

// TestDocs: GET /docs is the HTML reference page, and text/html requests for a
// resource land on its section there.
func TestDocs(t *testing.T) {
	s := startServer(t, "")
	r := s.do("GET", "/docs", "")
	if r.Status != 200 {
		t.Fatalf("GET /docs: %d %s", r.Status, r.Body)
	}
	for name, want := range map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
		"Cache-Control":           "no-cache",
	} {
		if got := r.Header.Get(name); got != want {
			t.Errorf("GET /docs: %s is %q, want %q", name, got, want)
		}
	}
	page := string(r.Body)
	if strings.Contains(page, "<script") {
		t.Error("the page has a script")
	}
	if !strings.Contains(page, "curl -s -i "+s.URL+"/cars") {
		t.Errorf("no curl example with this server's URL %s", s.URL)
	}
	if !strings.Contains(page, `id="artefacts"`) {
		t.Error("no artefacts section")
	}
	for path, anchor := range map[string]string{"/cars": "cars", "/v1/people": "v1-people", "/led": "led"} {
		r := s.do("GET", path, "", "Accept", "text/html")
		if r.Status != 303 || r.Header.Get("Location") != "/docs#"+anchor {
			t.Errorf("GET %s as text/html: %d to %q, want 303 to /docs#%s", path, r.Status, r.Header.Get("Location"), anchor)
		}
		if !strings.Contains(page, `id="`+anchor+`"`) {
			t.Errorf("the page has no id=%q", anchor)
		}
	}
	if r := s.do("HEAD", "/docs", ""); r.Status != 200 || len(r.Body) != 0 {
		t.Errorf("HEAD /docs: %d with %d bytes", r.Status, len(r.Body))
	}
	if r := s.do("POST", "/docs", "{}"); r.Status != 405 {
		t.Errorf("POST /docs: %d, want 405", r.Status)
	}
}
