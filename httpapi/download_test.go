package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/artefact"
	"github.com/restkit/restkit/fsblob"
	"github.com/restkit/restkit/sqlite"
)

// TestLimitRanges (issue 11, finding 8): a list of ranges is coalesced and capped at
// 16; a single range and a header ServeContent refuses stay as they are.
func TestLimitRanges(t *testing.T) {
	many := func(n int, f func(i int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = f(i)
		}
		return "bytes=" + strings.Join(parts, ",")
	}
	for _, tc := range []struct{ in, want string }{
		{"bytes=0-0", "bytes=0-0"},
		{"bytes=5-", "bytes=5-"},
		{"bytes=-10", "bytes=-10"},
		{"bytes=200-300", "bytes=200-300"}, // past the end: ServeContent's 416
		{"items=0-1,2-3", "items=0-1,2-3"},
		{"bytes=0-1,x", "bytes=0-1,x"},
		{"bytes=5-1,6-7", "bytes=5-1,6-7"},
		{"bytes=0-10,5-20", "bytes=0-20"},
		{"bytes=0-9,10-19", "bytes=0-19"},          // adjacent
		{"bytes=0-9,11-19", "bytes=0-9,11-19"},     // a gap
		{"bytes=50-59, 0-9 ,,", "bytes=0-9,50-59"}, // ascending; blanks skipped
		{"bytes=90-,-5", "bytes=90-99"},            // open and suffix, in a file of 100
		{"bytes=0-0,-0,150-", "bytes=0-0"},         // empty ranges are dropped
		{"bytes=-0,100-", "bytes=100-"},            // nothing: one range past the end
		{"bytes=+0-+4,0-9", "bytes=0-9"},           // signs, as ServeContent reads them
		{"bytes=0-5000,1-2", "bytes=0-99"},         // clipped to the file
		{many(8000, func(int) string { return "0-0" }), "bytes=0-0"},
		{many(16, func(i int) string { return fmt.Sprintf("%d-%d", 2*i, 2*i) }), many(16, func(i int) string { return fmt.Sprintf("%d-%d", 2*i, 2*i) })},
		{many(17, func(i int) string { return fmt.Sprintf("%d-%d", 2*i, 2*i) }), ""},
		{many(8000, func(i int) string { return fmt.Sprintf("%d-%d", 2*(i%50), 2*(i%50)) }), ""},
	} {
		if got := limitRanges(tc.in, 100); got != tc.want {
			t.Errorf("%.60s: %.60q, want %.60q", tc.in, got, tc.want)
		}
	}
}

// TestRangeRequestsAreBounded (issue 11, finding 8): what a download answers to Range
// headers, through the handler and http.ServeContent: at most 16 parts, never more
// bytes than the file and its part headers; a 200 with the whole file beyond that;
// single ranges, 416 and If-Range as before.
func TestRangeRequestsAreBounded(t *testing.T) {
	content := make([]byte, 100_000)
	for i := range content {
		content[i] = byte('a' + i%26)
	}
	h := artefactServer(t)
	put := httptest.NewRequest("PUT", "/artefacts/d/x", bytes.NewReader(content))
	put.Header.Set("Content-Type", "application/octet-stream")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, put)
	if w.Code != http.StatusCreated {
		t.Fatalf("upload: %d %s", w.Code, w.Body)
	}
	etag := w.Header().Get("ETag")
	get := func(rng string, headers ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/artefacts/d/x", nil)
		r.Header.Set("Range", rng)
		for i := 0; i+1 < len(headers); i += 2 {
			r.Header.Set(headers[i], headers[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	join := func(n int, f func(i int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = f(i)
		}
		return "bytes=" + strings.Join(parts, ",")
	}
	// Eight thousand copies of one byte: one byte.
	w = get(join(8000, func(int) string { return "0-0" }))
	if w.Code != http.StatusPartialContent || w.Body.String() != "a" || w.Header().Get("Content-Range") != "bytes 0-0/100000" {
		t.Fatalf("8000 × 0-0: %d %q %q, %d bytes", w.Code, w.Header().Get("Content-Range"), w.Header().Get("Content-Type"), w.Body.Len())
	}
	// Overlapping ranges: one part.
	w = get("bytes=0-10,5-20")
	if w.Code != http.StatusPartialContent || w.Body.String() != string(content[:21]) || w.Header().Get("Content-Range") != "bytes 0-20/100000" {
		t.Fatalf("0-10,5-20: %d %q %q", w.Code, w.Header().Get("Content-Range"), w.Body)
	}
	// Sixteen disjoint ranges: sixteen parts, each right.
	w = get(join(16, func(i int) string { return fmt.Sprintf("%d-%d", 1000*i, 1000*i+9) }))
	if w.Code != http.StatusPartialContent {
		t.Fatalf("16 ranges: %d", w.Code)
	}
	_, params, err := mime.ParseMediaType(w.Header().Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(w.Body, params["boundary"])
	parts := 0
	for ; ; parts++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(p)
		want := content[1000*parts : 1000*parts+10]
		if !bytes.Equal(got, want) || p.Header.Get("Content-Range") != fmt.Sprintf("bytes %d-%d/100000", 1000*parts, 1000*parts+9) {
			t.Fatalf("part %d: %q %q", parts, p.Header.Get("Content-Range"), got)
		}
	}
	if parts != 16 {
		t.Fatalf("16 ranges: %d parts", parts)
	}
	// Seventeen, or eight thousand disjoint ones: the whole file.
	for _, rng := range []string{
		join(17, func(i int) string { return fmt.Sprintf("%d-%d", 1000*i, 1000*i) }),
		join(8000, func(i int) string { return fmt.Sprintf("%d-%d", 2*i, 2*i) }),
	} {
		w = get(rng)
		if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), content) || w.Header().Get("Content-Range") != "" {
			t.Fatalf("%.40s…: %d, %d bytes", rng, w.Code, w.Body.Len())
		}
	}
	// As before: a single range, 416, If-Range.
	if w = get("bytes=99990-"); w.Code != http.StatusPartialContent || w.Body.String() != string(content[99990:]) {
		t.Fatalf("single range: %d %q", w.Code, w.Body)
	}
	for _, rng := range []string{"bytes=200000-", "bytes=200000-,300000-", "bytes=-0,-0"} {
		if w = get(rng); w.Code != http.StatusRequestedRangeNotSatisfiable || w.Header().Get("Content-Range") != "bytes */100000" {
			t.Fatalf("%s: %d %q %s", rng, w.Code, w.Header().Get("Content-Range"), w.Body)
		}
	}
	if w = get(join(20, func(i int) string { return fmt.Sprintf("%d-%d", 10*i, 10*i) }), "If-Range", `"stale"`); w.Code != http.StatusOK || w.Body.Len() != len(content) {
		t.Fatalf("If-Range mismatch: %d", w.Code)
	}
	if w = get("bytes=0-1,1-3", "If-Range", etag); w.Code != http.StatusPartialContent || w.Body.String() != "abcd" {
		t.Fatalf("If-Range match: %d %q", w.Code, w.Body)
	}
}

// artefactServer serves an artefact repository on SQLite and files in a temp dir.
func artefactServer(t *testing.T) *Server {
	t.Helper()
	dir := t.TempDir()
	meta, err := sqlite.Open(filepath.Join(dir, "restkit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	sc := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{{
		Name: "notes", Key: "id", Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}}}}}}}
	if err := sc.Prepare(); err != nil {
		t.Fatal(err)
	}
	if err := meta.Migrate(context.Background(), sc); err != nil {
		t.Fatal(err)
	}
	blobs, err := fsblob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	repo := artefact.New(artefact.Options{Blobs: blobs, Meta: meta})
	return mustNew(t, Options{Schema: sc, Store: meta, Artefacts: repo})
}

// TestEmptyVersionParameter (issue 11, finding 9): ?version= with no value is a 400
// naming the parameter on every artefact route, never the latest version (nor, for a
// DELETE, the whole artefact).
func TestEmptyVersionParameter(t *testing.T) {
	h := artefactServer(t)
	for _, body := range []string{"one", "two"} {
		r := httptest.NewRequest("PUT", "/artefacts/d/x", strings.NewReader(body))
		r.Header.Set("Content-Type", "text/plain")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 300 {
			t.Fatalf("upload: %d %s", w.Code, w.Body)
		}
	}
	const versionProblem = `{"type":"about:blank","title":"Bad Request","status":400,"detail":"invalid query parameters","errors":[{"field":"version","message":"must be a version number from 1"}]}` + "\n"
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/artefacts/d/x?version=", versionProblem},
		{"HEAD", "/artefacts/d/x?version=", versionProblem}, // the recorder keeps what a server drops
		{"DELETE", "/artefacts/d/x?version=", versionProblem},
		{"GET", "/artefact/d/x?version=", versionProblem},
		{"GET", "/artefacts/d/x?version", versionProblem},
		{"GET", "/artefacts/d/x?version=0", versionProblem},
		{"GET", "/artefacts/d/x/versions?version=", `{"type":"about:blank","title":"Bad Request","status":400,"detail":"invalid query parameters","errors":[{"field":"version","message":"is not a parameter here: this takes none"}]}` + "\n"},
		{"DELETE", "/artefacts/d?version=", `{"type":"about:blank","title":"Bad Request","status":400,"detail":"invalid query parameters","errors":[{"field":"version","message":"is not a parameter here: this takes none"}]}` + "\n"},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
		if w.Code != http.StatusBadRequest || w.Body.String() != tc.want {
			t.Errorf("%s %s: %d %s, want 400 %s", tc.method, tc.path, w.Code, w.Body, tc.want)
		}
	}
	// Both versions are still there; version=1 still reads the first.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/artefacts/d/x?version=1", nil))
	if w.Code != http.StatusOK || w.Body.String() != "one" {
		t.Fatalf("version=1: %d %q", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/artefacts/d/x", nil))
	if w.Code != http.StatusOK || w.Body.String() != "two" {
		t.Fatalf("latest: %d %q", w.Code, w.Body)
	}
}
