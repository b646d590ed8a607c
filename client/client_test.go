package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/httpapi"
)

// These tests run the client against a tiny fake of the HTTP contract, to pin the
// client's own error mapping and header handling. The real server is exercised
// end to end in e2e/.

// TestKindOfReversesTheServerTable: every kind the server can answer with comes back
// to the client as the same kind (RangeNotSatisfiable was read back as Invalid
// before the table was one, for both sides).
func TestKindOfReversesTheServerTable(t *testing.T) {
	for _, k := range restkit.Kinds() {
		status := httpapi.StatusOf(&restkit.Error{Kind: k})
		if got := KindOf(status); got != k {
			t.Errorf("kind %s → status %d → kind %s", k, status, got)
		}
	}
}

func TestKindOfStatus(t *testing.T) {
	for status, want := range map[int]restkit.Kind{
		400: restkit.Invalid, 401: restkit.Unauthorized, 403: restkit.Forbidden, 404: restkit.NotFound,
		405: restkit.MethodNotAllowed, 406: restkit.NotAcceptable, 409: restkit.Conflict,
		412: restkit.PreconditionFailed, 413: restkit.TooLarge, 415: restkit.UnsupportedMedia,
		428: restkit.PreconditionRequired, 429: restkit.RateLimited, 503: restkit.Unavailable,
		507: restkit.InsufficientStorage, 500: restkit.Internal,
		502: restkit.Internal, 504: restkit.Internal, 418: restkit.Invalid, 416: restkit.RangeNotSatisfiable, 302: restkit.Internal,
	} {
		if got := KindOf(status); got != want {
			t.Errorf("KindOf(%d) = %s, want %s", status, got, want)
		}
	}
}

// fake is an httptest server whose handler a test sets; it records requests.
type fake struct {
	*httptest.Server
	mu      sync.Mutex
	handler http.HandlerFunc
	reqs    []*http.Request
}

func newFake(t *testing.T, h http.HandlerFunc) *fake {
	f := &fake{handler: h}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.reqs = append(f.reqs, r.Clone(context.Background()))
		h := f.handler
		f.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fake) last(t *testing.T) *http.Request {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		t.Fatal("no request")
	}
	return f.reqs[len(f.reqs)-1]
}

func reply(status int, contentType, body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func TestErrorBodies(t *testing.T) {
	for _, tc := range []struct {
		name        string
		status      int
		contentType string
		body        string
		kind        restkit.Kind
		message     string
		fields      []restkit.FieldError
	}{
		{"problem with fields", 400, "application/problem+json",
			`{"type":"about:blank","title":"Bad Request","status":400,"detail":"validation failed","errors":[{"field":"model","message":"is required"},{"field":"year","message":"must be an integer"}]}`,
			restkit.Invalid, "validation failed", []restkit.FieldError{{Field: "model", Message: "is required"}, {Field: "year", Message: "must be an integer"}}},
		{"problem", 404, "application/problem+json", `{"type":"about:blank","title":"Not Found","status":404,"detail":"no car with id 9"}`,
			restkit.NotFound, "no car with id 9", nil},
		{"problem without detail", 409, "application/problem+json", `{"type":"about:blank","title":"Conflict","status":409}`,
			restkit.Conflict, "conflict", nil},
		{"envelope", 400, "application/json", `{"status":"error","message":"validation failed","errors":[{"field":"email","message":"is not an email address"}]}`,
			restkit.Invalid, "validation failed", []restkit.FieldError{{Field: "email", Message: "is not an email address"}}},
		{"envelope without fields", 412, "application/json", `{"status":"error","message":"the record changed","errors":[]}`,
			restkit.PreconditionFailed, "the record changed", []restkit.FieldError{}},
		{"no body", 507, "", "", restkit.InsufficientStorage, "insufficient storage", nil},
		{"a proxy's page", 502, "text/html", "<html><body>Bad Gateway</body></html>", restkit.Internal, "bad gateway", nil},
		{"internal", 500, "application/problem+json", `{"type":"about:blank","title":"Internal Server Error","status":500,"detail":"internal error"}`,
			restkit.Internal, "internal error", nil},
		{"rate limited", 429, "application/problem+json", `{"type":"about:blank","title":"Too Many Requests","status":429,"detail":"slow down"}`,
			restkit.RateLimited, "slow down", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, reply(tc.status, tc.contentType, tc.body))
			err := New(f.URL).JSON(context.Background(), "GET", "/cars/9", nil, &struct{}{})
			var e *restkit.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want *restkit.Error", err, err)
			}
			if e.Kind != tc.kind || e.Message != tc.message || fmt.Sprint(e.Fields) != fmt.Sprint(tc.fields) {
				t.Fatalf("got {%s %q %v}, want {%s %q %v}", e.Kind, e.Message, e.Fields, tc.kind, tc.message, tc.fields)
			}
			if err.Error() != tc.message {
				t.Fatalf("Error() = %q, want the message", err.Error())
			}
		})
	}
}

func TestTransportErrorIsNotARestkitError(t *testing.T) {
	f := newFake(t, reply(200, "application/json", "{}"))
	url := f.URL
	f.Close()
	_, err := New(url).Directories(context.Background())
	var e *restkit.Error
	if err == nil || errors.As(err, &e) {
		t.Fatalf("err = %v, want a transport error", err)
	}
	if !strings.Contains(err.Error(), "GET "+url+"/artefacts") {
		t.Fatalf("err = %q does not say what was asked", err)
	}
}

func TestBadBaseURL(t *testing.T) {
	for _, u := range []string{"127.0.0.1:8080", "ftp://host", "http://", "http://h/?q=1", ":"} {
		if _, err := New(u).Directories(context.Background()); err == nil {
			t.Errorf("New(%q): no error", u)
		}
	}
}

func TestJSONAndDo(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		fmt.Fprintf(w, `{"got":%s}`, b)
	})
	c := New(f.URL+"/", WithToken("s3cret"), WithUserAgent("test-agent/1"))
	var out struct {
		Got struct{ Model string } `json:"got"`
	}
	if err := c.JSON(context.Background(), "POST", "/cars", map[string]string{"model": "Golf"}, &out); err != nil {
		t.Fatal(err)
	}
	if out.Got.Model != "Golf" {
		t.Fatalf("decoded %+v", out)
	}
	r := f.last(t)
	for k, want := range map[string]string{
		"Authorization": "Bearer s3cret", "User-Agent": "test-agent/1", "Content-Type": "application/json", "Accept": "application/json",
	} {
		if got := r.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if r.URL.Path != "/cars" {
		t.Errorf("path %q", r.URL.Path)
	}

	f.handler = reply(304, "", "")
	resp, err := c.Do(context.Background(), "GET", "/cars/1", nil, http.Header{"If-None-Match": {`"1-abc"`}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 304 || f.last(t).Header.Get("If-None-Match") != `"1-abc"` {
		t.Fatalf("Do: status %d, If-None-Match %q", resp.StatusCode, f.last(t).Header.Get("If-None-Match"))
	}
	if _, err := c.Do(context.Background(), "GET", "cars", nil, nil); err == nil {
		t.Fatal("a path without a leading slash was accepted")
	}
}

// strictReader serves data and fails the test if it is read again after it said EOF.
// Before it serves the second half it waits for gate: the server closes gate once it
// has received the first half, which only a streaming client lets happen.
type strictReader struct {
	t    *testing.T
	data []byte
	half int
	gate <-chan struct{}
	off  int
	eof  bool
}

func (r *strictReader) Read(p []byte) (int, error) {
	if r.eof {
		r.t.Error("Read after EOF")
		return 0, io.EOF
	}
	if r.off == r.half {
		select {
		case <-r.gate:
		case <-time.After(60 * time.Second):
			r.t.Error("the server never saw the first half: the client is not streaming")
			return 0, errors.New("not streamed")
		}
	}
	if r.off == len(r.data) {
		r.eof = true
		return 0, io.EOF
	}
	end := len(r.data)
	if r.off < r.half {
		end = r.half
	}
	n := copy(p, r.data[r.off:end])
	r.off += n
	return n, nil
}

func (r *strictReader) Close() error {
	r.t.Error("Push closed the caller's reader")
	return nil
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

const metaJSON = `{"directory":"rel eases","id":"app v1.tar.gz","version":%d,"size":%d,"sha256":"%s","content_type":"application/gzip","created":"2025-01-02T03:04:05Z","updated":"2025-01-02T03:04:06.5+01:00"}`

func TestPushStreamsWithTheChecksum(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	gate := make(chan struct{})
	var got []byte
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		first := make([]byte, len(data)/2)
		if _, err := io.ReadFull(r.Body, first); err != nil {
			t.Errorf("reading the first half: %v", err)
		}
		close(gate)
		rest, _ := io.ReadAll(r.Body)
		got = append(first, rest...)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		fmt.Fprintf(w, metaJSON, 1, len(got), sha(got))
	})
	r := &strictReader{t: t, data: data, half: len(data) / 2, gate: gate}
	a, err := New(f.URL).Push(context.Background(), "rel eases", "app v1.tar.gz", r, int64(len(data)),
		PushOptions{SHA256: strings.ToUpper(sha(data)), ContentType: "application/gzip"})
	if err != nil {
		t.Fatal(err)
	}
	req := f.last(t)
	if req.Method != "POST" || req.URL.EscapedPath() != "/artefacts/rel%20eases/app%20v1.tar.gz" {
		t.Errorf("%s %s", req.Method, req.URL.EscapedPath())
	}
	if req.Header.Get("X-Checksum-Sha256") != sha(data) || req.ContentLength != int64(len(data)) || req.Header.Get("Content-Type") != "application/gzip" {
		t.Errorf("X-Checksum-Sha256 %q, Content-Length %d, Content-Type %q", req.Header.Get("X-Checksum-Sha256"), req.ContentLength, req.Header.Get("Content-Type"))
	}
	if !bytes.Equal(got, data) {
		t.Errorf("the server got %d bytes, want %d", len(got), len(data))
	}
	want := &restkit.Artefact{Directory: "rel eases", ID: "app v1.tar.gz", Version: 1, Size: int64(len(data)), SHA256: sha(data),
		ContentType: "application/gzip", Created: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Updated: time.Date(2025, 1, 2, 2, 4, 6, 5e8, time.UTC)}
	if a.Directory != want.Directory || a.ID != want.ID || a.Version != want.Version || a.Size != want.Size ||
		a.SHA256 != want.SHA256 || a.ContentType != want.ContentType || !a.Created.Equal(want.Created) || !a.Updated.Equal(want.Updated) {
		t.Errorf("got %+v\nwant %+v", a, want)
	}
}

func TestPushOfUnknownSizeIsChunked(t *testing.T) {
	var te []string
	var n int
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		te = r.TransferEncoding
		b, _ := io.ReadAll(r.Body)
		n = len(b)
		w.WriteHeader(201)
		fmt.Fprintf(w, metaJSON, 1, len(b), sha(b))
	})
	pr, pw := io.Pipe()
	go func() {
		for range 10 {
			_, _ = pw.Write(make([]byte, 1000))
		}
		pw.Close()
	}()
	if _, err := New(f.URL).Push(context.Background(), "d", "i", pr, -1, PushOptions{}); err != nil {
		t.Fatal(err)
	}
	if n != 10000 || len(te) != 1 || te[0] != "chunked" {
		t.Fatalf("got %d bytes, Transfer-Encoding %v", n, te)
	}
	if _, err := New(f.URL).Push(context.Background(), "d", "empty", strings.NewReader(""), 0, PushOptions{}); err != nil {
		t.Fatal(err)
	}
	if r := f.last(t); r.ContentLength != 0 || len(r.TransferEncoding) != 0 {
		t.Fatalf("an empty push: Content-Length %d, Transfer-Encoding %v", r.ContentLength, r.TransferEncoding)
	}
}

func TestPushOptions(t *testing.T) {
	f := newFake(t, reply(200, "application/json", fmt.Sprintf(metaJSON, 2, 3, sha([]byte("abc")))))
	c := New(f.URL)
	for _, tc := range []struct {
		o            PushOptions
		method       string
		ifNoneMatch  string
		ifMatch      string
		contentType  string
		checksumSent bool
	}{
		{PushOptions{}, "POST", "", "", "", false},
		{PushOptions{Replace: true}, "PUT", "", "", "", false},
		{PushOptions{CreateOnly: true}, "PUT", "*", "", "", false},
		{PushOptions{IfMatch: sha([]byte("old"))}, "PUT", "", `"` + sha([]byte("old")) + `"`, "", false},
		{PushOptions{Replace: true, IfMatch: `"x"`, ContentType: "text/plain", SHA256: sha([]byte("abc"))}, "PUT", "", `"x"`, "text/plain", true},
	} {
		if _, err := c.Push(context.Background(), "d", "i", strings.NewReader("abc"), 3, tc.o); err != nil {
			t.Fatal(err)
		}
		r := f.last(t)
		if r.Method != tc.method || r.Header.Get("If-None-Match") != tc.ifNoneMatch || r.Header.Get("If-Match") != tc.ifMatch ||
			r.Header.Get("Content-Type") != tc.contentType || (r.Header.Get("X-Checksum-Sha256") != "") != tc.checksumSent {
			t.Errorf("%+v: sent %s If-None-Match %q If-Match %q Content-Type %q X-Checksum-Sha256 %q", tc.o, r.Method,
				r.Header.Get("If-None-Match"), r.Header.Get("If-Match"), r.Header.Get("Content-Type"), r.Header.Get("X-Checksum-Sha256"))
		}
	}

	f.handler = reply(409, "application/problem+json", `{"type":"about:blank","title":"Conflict","status":409,"detail":"d/i exists; PUT adds a version"}`)
	_, err := c.Push(context.Background(), "d", "i", strings.NewReader("abc"), 3, PushOptions{})
	if !restkit.IsKind(err, restkit.Conflict) || err.Error() != "d/i exists; PUT adds a version" {
		t.Fatalf("err = %v", err)
	}
	for _, bad := range [][2]string{{"", "i"}, {"d", ""}, {".", "i"}, {"d", ".."}} {
		if _, err := c.Push(context.Background(), bad[0], bad[1], strings.NewReader(""), 0, PushOptions{}); !restkit.IsKind(err, restkit.Invalid) {
			t.Errorf("Push(%q, %q): err = %v, want Invalid", bad[0], bad[1], err)
		}
	}
}

// contentServer serves content like the artefact routes do, with ranges.
func contentServer(content []byte, version int) http.HandlerFunc {
	etag := `"` + sha(content) + `"`
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("ETag", etag)
		h.Set("X-Artefact-Version", fmt.Sprint(version))
		h.Set("Accept-Ranges", "bytes")
		h.Set("Content-Disposition", `attachment; filename="app.bin"`)
		h.Set("Last-Modified", "Wed, 01 Jan 2025 10:00:00 GMT")
		h.Set("Content-Type", "application/octet-stream")
		start := 0
		if rg := r.Header.Get("Range"); rg != "" && (r.Header.Get("If-Range") == "" || r.Header.Get("If-Range") == etag) {
			fmt.Sscanf(rg, "bytes=%d-", &start)
		}
		h.Set("Content-Length", fmt.Sprint(len(content)-start))
		if start > 0 {
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(content)-1, len(content)))
			w.WriteHeader(206)
		}
		if r.Method != "HEAD" {
			_, _ = w.Write(content[start:])
		}
	}
}

func TestPull(t *testing.T) {
	content := bytes.Repeat([]byte("restkit "), 10000)
	f := newFake(t, contentServer(content, 3))
	c := New(f.URL)
	ctx := context.Background()

	var buf bytes.Buffer
	res, err := c.Pull(ctx, "d", "a", 0, &buf, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a := res.Artefact
	if !bytes.Equal(buf.Bytes(), content) || res.Resumed || res.Written != int64(len(content)) || a.Size != int64(len(content)) ||
		a.SHA256 != sha(content) || a.Version != 3 || a.Filename != "app.bin" || a.ContentType != "application/octet-stream" ||
		!a.Updated.Equal(time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("pull: %d bytes, result %+v, artefact %+v", buf.Len(), res, a)
	}
	if r := f.last(t); r.Header.Get("Range") != "" || r.Header.Get("If-Range") != "" || r.URL.RawQuery != "" {
		t.Fatalf("a plain pull sent Range %q If-Range %q ?%s", r.Header.Get("Range"), r.Header.Get("If-Range"), r.URL.RawQuery)
	}

	// Resume: Range and If-Range go out, a 206 comes back with the rest.
	buf.Reset()
	res, err = c.Pull(ctx, "d", "a", 2, &buf, PullOptions{Offset: 1000, IfRange: sha(content)})
	if err != nil {
		t.Fatal(err)
	}
	r := f.last(t)
	if r.Header.Get("Range") != "bytes=1000-" || r.Header.Get("If-Range") != `"`+sha(content)+`"` || r.URL.RawQuery != "version=2" {
		t.Fatalf("resume sent Range %q If-Range %q ?%s", r.Header.Get("Range"), r.Header.Get("If-Range"), r.URL.RawQuery)
	}
	if !res.Resumed || res.Offset != 1000 || res.Artefact.Size != int64(len(content)) || !bytes.Equal(buf.Bytes(), content[1000:]) {
		t.Fatalf("resume: %d bytes, result %+v, size %d", buf.Len(), res, res.Artefact.Size)
	}

	// The content changed: If-Range no longer matches and the whole file comes.
	buf.Reset()
	res, err = c.Pull(ctx, "d", "a", 0, &buf, PullOptions{Offset: 1000, IfRange: sha([]byte("older"))})
	if err != nil {
		t.Fatal(err)
	}
	if res.Resumed || res.Offset != 0 || !bytes.Equal(buf.Bytes(), content) {
		t.Fatalf("changed: %d bytes, result %+v", buf.Len(), res)
	}

	// Stat is a HEAD.
	st, err := c.Stat(ctx, "d", "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	if f.last(t).Method != "HEAD" || st.SHA256 != sha(content) || st.Size != int64(len(content)) || st.Version != 3 {
		t.Fatalf("stat: %s, %+v", f.last(t).Method, st)
	}
}

func TestPullChecksTheDigest(t *testing.T) {
	content := []byte("the real content")
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"`+sha([]byte("something else"))+`"`)
		_, _ = w.Write(content)
	})
	var buf bytes.Buffer
	_, err := New(f.URL).Pull(context.Background(), "d", "a", 0, &buf, PullOptions{})
	if !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("err = %v, want ErrDigestMismatch", err)
	}

	// Without an ETag, Repr-Digest serves.
	f.handler = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Repr-Digest", "sha-256=:"+"pPj8LPRJ2eGAbgYQ5wnIuWrrMFoFoZvW6cGfvaLFvDw="+":")
		_, _ = w.Write([]byte("x"))
	}
	if _, err := New(f.URL).Pull(context.Background(), "d", "a", 0, io.Discard, PullOptions{}); err == nil || !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("a wrong Repr-Digest: err = %v", err)
	}
	x := sha256.Sum256([]byte("x"))
	if got := reprDigest("sha-512=:AAAA:, sha-256=:" + b64(x[:]) + ":"); got != sha([]byte("x")) {
		t.Fatalf("reprDigest = %q", got)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestStatOfAMissingArtefactNamesIt(t *testing.T) {
	f := newFake(t, reply(404, "application/problem+json", `{"type":"about:blank","title":"Not Found","status":404,"detail":"no artefact d/a"}`))
	_, err := New(f.URL).Stat(context.Background(), "d", "a", 2)
	if !restkit.IsKind(err, restkit.NotFound) || err.Error() != "d/a version 2: not found" {
		t.Fatalf("err = %v", err)
	}
	// A GET carries the server's words.
	_, err = New(f.URL).Pull(context.Background(), "d", "a", 0, io.Discard, PullOptions{})
	if !restkit.IsKind(err, restkit.NotFound) || err.Error() != "no artefact d/a" {
		t.Fatalf("err = %v", err)
	}
}

func TestListFollowsNextLinks(t *testing.T) {
	meta := func(id string) string {
		return fmt.Sprintf(`{"directory":"d","id":%q,"version":1,"size":1,"sha256":"%s","content_type":"text/plain","created":"2025-01-02T03:04:05Z","updated":"2025-01-02T03:04:05Z"}`, id, sha([]byte(id)))
	}
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Query().Get("cursor") {
		case "":
			w.Header().Set("Link", `</artefacts/d?limit=2&prefix=a&cursor=c1>; rel="next", </artefacts/d?limit=2&prefix=a>; rel="first"`)
			fmt.Fprintf(w, "[%s,%s]", meta("a1"), meta("a2"))
		case "c1":
			w.Header().Set("Link", `</artefacts/d?limit=2&prefix=a>; rel="first"`)
			fmt.Fprintf(w, "[%s]", meta("a3"))
		}
	})
	c := New(f.URL)
	all, err := c.List(context.Background(), "d", ListOptions{Prefix: "a", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range all {
		ids = append(ids, a.ID)
	}
	if strings.Join(ids, ",") != "a1,a2,a3" {
		t.Fatalf("ids %v", ids)
	}
	if q := f.reqs[0].URL.Query(); q.Get("prefix") != "a" || q.Get("limit") != "2" {
		t.Fatalf("first request ?%s", f.reqs[0].URL.RawQuery)
	}
	page, next, err := c.ListPage(context.Background(), "d", ListOptions{Prefix: "a", Limit: 2})
	if err != nil || len(page) != 2 || next != "c1" {
		t.Fatalf("ListPage: %d, %q, %v", len(page), next, err)
	}
	page, next, err = c.ListPage(context.Background(), "d", ListOptions{Prefix: "a", Limit: 2, Cursor: next})
	if err != nil || len(page) != 1 || next != "" {
		t.Fatalf("ListPage 2: %d, %q, %v", len(page), next, err)
	}

	// A next link to another host is not followed (the token would go there).
	f.handler = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", `<http://evil.example/artefacts/d?cursor=x>; rel="next"`)
		fmt.Fprint(w, "[]")
	}
	if _, err := c.List(context.Background(), "d", ListOptions{}); err == nil || !strings.Contains(err.Error(), "leaves the server") {
		t.Fatalf("err = %v", err)
	}
}

func TestNextLink(t *testing.T) {
	for in, want := range map[string]string{
		``:                                      "",
		`</a?cursor=x>; rel="next"`:             "/a?cursor=x",
		`</a>; rel="first", </a?c=2>; rel=next`: "/a?c=2",
		`</a?c=1>; rel="prev", </a?c=2>; title="x"; rel="prefetch next", </a>; rel="first"`: "/a?c=2",
		`</a?c=1>; rel="prev"`: "",
	} {
		if got := nextLink(http.Header{"Link": {in}}); got != want {
			t.Errorf("nextLink(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDirectoriesVersionsFindDelete(t *testing.T) {
	f := newFake(t, reply(200, "application/json", `[{"name":"releases","artefacts":2,"size":30,"updated":"2025-01-02T03:04:05Z"}]`))
	c := New(f.URL)
	ctx := context.Background()
	dirs, err := c.Directories(ctx)
	if err != nil || len(dirs) != 1 || dirs[0].Name != "releases" || dirs[0].Artefacts != 2 || dirs[0].Size != 30 || dirs[0].Updated.IsZero() {
		t.Fatalf("Directories: %+v, %v", dirs, err)
	}

	f.handler = reply(200, "application/json", "["+fmt.Sprintf(metaJSON, 2, 3, sha([]byte("abc")))+","+fmt.Sprintf(metaJSON, 1, 3, sha([]byte("abd")))+"]")
	vs, err := c.Versions(ctx, "rel eases", "ü/?#")
	if err != nil || len(vs) != 2 || vs[0].Version != 2 {
		t.Fatalf("Versions: %+v, %v", vs, err)
	}
	if p := f.last(t).URL.EscapedPath(); p != "/artefacts/rel%20eases/%C3%BC%2F%3F%23/versions" {
		t.Fatalf("path %s", p)
	}
	if _, err := c.FindByDigest(ctx, strings.ToUpper(sha([]byte("abc")))); err != nil {
		t.Fatal(err)
	}
	if r := f.last(t); r.URL.Path != "/artefacts" || r.URL.Query().Get("sha256") != sha([]byte("abc")) {
		t.Fatalf("FindByDigest sent %s", r.URL)
	}

	f.handler = reply(204, "", "")
	for _, tc := range []struct {
		dir, id string
		version int64
		want    string
	}{
		{"d", "a", 0, "/artefacts/d/a"},
		{"d", "a", 3, "/artefacts/d/a?version=3"},
		{"d", "", 0, "/artefacts/d"},
	} {
		if err := c.Delete(ctx, tc.dir, tc.id, tc.version); err != nil {
			t.Fatal(err)
		}
		if r := f.last(t); r.Method != "DELETE" || r.URL.RequestURI() != tc.want {
			t.Errorf("Delete(%q, %q, %d) sent %s %s", tc.dir, tc.id, tc.version, r.Method, r.URL.RequestURI())
		}
	}
	if err := c.Delete(ctx, "d", "", 2); !restkit.IsKind(err, restkit.Invalid) {
		t.Fatalf("a version without an id: %v", err)
	}
}
