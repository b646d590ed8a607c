package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/helpers"
	"github.com/pb33f/libopenapi-validator/paths"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// The e2e suite is the proof that the served OpenAPI document and the server agree:
// every response a test gets through server.do is checked against the document that
// server serves at /openapi.json (fetched once per server, because the document
// depends on the config). A status, content type, body or documented header the
// document does not describe fails the test. Requests are not validated: the tests
// send malformed requests on purpose, and the contract for those is the error
// response, which is validated like any other.

// contract is the validator of one server's document, built on first use.
type contract struct {
	mu sync.Mutex // the validators render shared schemas lazily: not safe for concurrent use
	v  validator.Validator
	// projected validates the answers to requests with fields=: the same document
	// with no property required in the records a fields parameter projects. The
	// document describes a read as the whole record, so that generated clients decode
	// it into the record's type, and says in the parameter that with fields= only the
	// named fields are present; checkProjection checks that they are the named ones.
	projected validator.Validator
	model     *v3.Document
	err       error
}

// notInDocument lists the paths the document does not describe because they are
// not part of the HTTP API: the index, the HTML reference and the operational
// endpoints. Requests to them are not validated.
var notInDocument = []string{"/", "/docs", "/readyz", "/metrics", "/_session"}

// loadContract fetches and parses the document the server serves. The document may
// be behind auth (auth.docs): the request's own Authorization header is reused.
func (s *server) loadContract(auth string) *contract {
	c := &contract{}
	req, err := http.NewRequest("GET", s.URL+"/openapi.json", nil)
	if err != nil {
		c.err = err
		return c
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := client.Do(req)
	if err != nil {
		c.err = err
		return c
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.err = err
		return c
	}
	if resp.StatusCode != 200 {
		c.err = fmt.Errorf("GET /openapi.json: %d %s", resp.StatusCode, body)
		return c
	}
	doc, err := libopenapi.NewDocument(body)
	if err != nil {
		c.err = fmt.Errorf("parsing /openapi.json: %w", err)
		return c
	}
	m, err := doc.BuildV3Model()
	if err != nil {
		c.err = fmt.Errorf("building the model of /openapi.json: %w", err)
		return c
	}
	c.model = &m.Model
	c.v = validator.NewValidatorFromV3Model(c.model)
	projected, err := projectedDocument(body)
	if err != nil {
		c.err = fmt.Errorf("the document of fields= answers: %w", err)
		return c
	}
	pm, err := projected.BuildV3Model()
	if err != nil {
		c.err = fmt.Errorf("building the document of fields= answers: %w", err)
		return c
	}
	c.projected = validator.NewValidatorFromV3Model(&pm.Model)
	return c
}

// projectedDocument is the document with the required lists dropped from every schema
// that the 200 answer of an operation with a fields parameter refers to: the records
// a projection may leave properties out of.
func projectedDocument(body []byte) (libopenapi.Document, error) {
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, err
	}
	schemas, _ := dig(doc, "components", "schemas").(map[string]any)
	paths, _ := doc["paths"].(map[string]any)
	for _, item := range paths {
		for _, op := range item.(map[string]any) {
			op, _ := op.(map[string]any)
			params, _ := op["parameters"].([]any)
			projects := false
			for _, p := range params {
				p := p.(map[string]any)
				projects = projects || (p["name"] == "fields" && p["in"] == "query")
			}
			if !projects {
				continue
			}
			for _, name := range refsIn(dig(op, "responses", "200", "content", "application/json", "schema")) {
				if s, ok := schemas[name].(map[string]any); ok {
					delete(s, "required")
				}
			}
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return libopenapi.NewDocument(out)
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

// refsIn lists the names of the component schemas a schema refers to.
func refsIn(v any) []string {
	var names []string
	switch v := v.(type) {
	case map[string]any:
		if r, ok := v["$ref"].(string); ok {
			names = append(names, strings.TrimPrefix(r, "#/components/schemas/"))
		}
		for _, e := range v {
			names = append(names, refsIn(e)...)
		}
	case []any:
		for _, e := range v {
			names = append(names, refsIn(e)...)
		}
	}
	return names
}

// checkProjection checks that a JSON answer to a request with fields= holds only the
// fields named (each record of a list; the result of an envelope).
func checkProjection(req *http.Request, header http.Header, body []byte) error {
	named := map[string]bool{}
	for _, v := range req.URL.Query()["fields"] {
		for _, f := range strings.Split(v, ",") {
			named[strings.TrimSpace(f)] = true
		}
	}
	mt, _, _ := helpers.ExtractContentType(header.Get("Content-Type"))
	if mt != "application/json" {
		return nil
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	if env, ok := v.(map[string]any); ok && env["status"] == "ok" {
		if r, has := env["result"]; has {
			v = r
		}
	}
	records, ok := v.([]any)
	if !ok {
		records = []any{v}
	}
	for _, r := range records {
		r, _ := r.(map[string]any)
		for k := range r {
			if !named[k] {
				return fmt.Errorf("%q is not among the fields asked for", k)
			}
		}
	}
	return nil
}

// checkContract fails the test when the document does not describe the response.
func (s *server) checkContract(req *http.Request, status int, header http.Header, body []byte) {
	s.t.Helper()
	if skip := contractSkip(req, status); skip != "" {
		return
	}
	s.contractMu.Lock()
	if s.contract == nil || (s.contract.err != nil && req.Header.Get("Authorization") != "") {
		cred := req.Header.Get("Authorization")
		if s.contractAuth != "" {
			cred = s.contractAuth
		}
		s.contract = s.loadContract(cred)
	}
	c := s.contract
	s.contractMu.Unlock()
	if c.err != nil {
		s.t.Fatalf("%s %s: cannot validate the response against the document: %v", req.Method, req.URL.RequestURI(), c.err)
	}
	fail := func(format string, args ...any) {
		s.t.Helper()
		s.t.Fatalf("%s %s → %d %s: the response does not match /openapi.json: %s\nbody: %s",
			req.Method, req.URL.RequestURI(), status, header.Get("Content-Type"), fmt.Sprintf(format, args...), tail(string(body), 2000))
	}
	req = documentedRequest(req)
	pathItem, _, _ := paths.FindPath(req, c.model, nil)
	if pathItem == nil {
		switch {
		case status == http.StatusNotFound:
			return // the router does not know the path either ("no route")
		case hasBadSegment(req.URL.EscapedPath()):
			return // empty, "." or ".." segments: a bad name the server refuses (400); no template can match them
		}
		fail("the path is not in the document")
		return
	}
	if helpers.ExtractOperation(req, pathItem) == nil {
		// A method the document does not list for a documented path: OPTIONS answers
		// 204 and any other method 405, both with Allow naming exactly the documented
		// methods (plus HEAD with GET, and OPTIONS) — once the guard has let the caller
		// through: with auth on, an anonymous OPTIONS gets the guard's 401 and no Allow.
		if status == http.StatusUnauthorized && len(header.Values("WWW-Authenticate")) > 0 && header.Get("Allow") == "" {
			return
		}
		want := documentedMethods(pathItem)
		wantStatus := http.StatusMethodNotAllowed
		if req.Method == http.MethodOptions {
			wantStatus = http.StatusNoContent
		}
		if status != wantStatus || !sameMethods(header.Get("Allow"), want) {
			fail("%s is not an operation of this path: want %d with Allow: %s, got Allow: %q",
				req.Method, wantStatus, strings.Join(want, ", "), header.Get("Allow"))
		}
		return
	}
	h := header.Clone()
	if r := mediaRange(pathItem, req, status, h.Get("Content-Type")); r != "" {
		// The document declares a media range (artefact downloads: */*), which the
		// validator matches only literally (RFC 9110 §12.5.1 ranges are not supported).
		h.Set("Content-Type", r)
	}
	resp := &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(bytes.NewReader(body)), Request: req}
	v := c.v
	if req.URL.Query().Has("fields") && status/100 == 2 {
		v = c.projected
		if err := checkProjection(req, header, body); err != nil {
			fail("fields=: %v", err)
		}
	}
	c.mu.Lock()
	ok, errs := v.ValidateHttpResponse(req, resp)
	c.mu.Unlock()
	if ok {
		return
	}
	var msg strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&msg, "\n  - %s", e.Message)
		if e.Reason != "" && e.Reason != e.Message {
			fmt.Fprintf(&msg, ": %s", e.Reason)
		}
		for _, se := range e.SchemaValidationErrors {
			fmt.Fprintf(&msg, "\n      %s: %s", se.FieldPath, se.Reason)
		}
	}
	fail("%s", msg.String())
}

// hasBadSegment reports an empty, "." or ".." segment after the first.
func hasBadSegment(escapedPath string) bool {
	for _, seg := range strings.Split(strings.TrimPrefix(escapedPath, "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// documentedRequest maps the request to the path the document names for it: the
// server accepts a trailing slash everywhere and serves the artefact repository
// under the singular alias /artefact too (DESIGN §2, §4); the document lists each
// path once, without either.
func documentedRequest(req *http.Request) *http.Request {
	p := req.URL.Path
	if len(p) > 1 && strings.HasSuffix(p, "/") {
		p = strings.TrimSuffix(p, "/")
	}
	if p == "/artefact" || strings.HasPrefix(p, "/artefact/") {
		p = "/artefacts" + strings.TrimPrefix(p, "/artefact")
	}
	if p == req.URL.Path {
		return req
	}
	r := req.Clone(req.Context())
	r.URL.Path, r.URL.RawPath = p, ""
	return r
}

// documentedMethods are the methods a path answers: its operations, HEAD with GET, and OPTIONS.
func documentedMethods(item *v3.PathItem) []string {
	var ms []string
	for pair := item.GetOperations().First(); pair != nil; pair = pair.Next() {
		m := strings.ToUpper(pair.Key())
		ms = append(ms, m)
		if m == http.MethodGet {
			ms = append(ms, http.MethodHead)
		}
	}
	return append(ms, http.MethodOptions)
}

func sameMethods(allow string, want []string) bool {
	got := map[string]bool{}
	for _, m := range strings.Split(allow, ",") {
		if m = strings.TrimSpace(m); m != "" {
			got[m] = true
		}
	}
	if len(got) != len(want) {
		return false
	}
	for _, m := range want {
		if !got[m] {
			return false
		}
	}
	return true
}

// mediaRange returns the documented media range ("type/*" or "*/*") that covers the
// response's content type when the document lists no exact match; "" otherwise.
func mediaRange(item *v3.PathItem, req *http.Request, status int, contentType string) string {
	op := helpers.ExtractOperation(req, item)
	if op == nil || op.Responses == nil || contentType == "" {
		return ""
	}
	r := op.Responses.Codes.GetOrZero(strconv.Itoa(status))
	if r == nil {
		r = op.Responses.Default
	}
	if r == nil || r.Content == nil {
		return ""
	}
	mt, _, _ := helpers.ExtractContentType(contentType)
	if _, ok := r.Content.Get(mt); ok {
		return ""
	}
	major, _, _ := strings.Cut(mt, "/")
	for _, rng := range []string{major + "/*", "*/*"} {
		if _, ok := r.Content.Get(rng); ok {
			return rng
		}
	}
	return ""
}

// contractSkip says why a response is not validated ("" when it is).
func contractSkip(req *http.Request, status int) string {
	path := req.URL.Path
	if path == "/ui" || strings.HasPrefix(path, "/ui/") {
		return "the web console: HTML pages, not the API"
	}
	for _, p := range notInDocument {
		if path == p || path == p+"/" {
			return "not part of the API"
		}
	}
	switch {
	case req.Method == http.MethodHead:
		return "HEAD: no body to check; headers are those of GET"
	case strings.HasPrefix(path, "/_admin/"):
		return "operations (DESIGN §13), not part of the API"
	}
	return ""
}
