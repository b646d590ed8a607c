package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func b64sha(b []byte) string {
	s := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

// meta decodes an artefact metadata body.
func meta(t testing.TB, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("metadata is not JSON: %v\n%s", err, body)
	}
	return m
}

func TestArtefactRoutes(t *testing.T) {
	s := startServer(t, "")
	v1, v2 := []byte("hello artefacts\n"), []byte("second version\n")
	s.run(t, []step{
		{name: "push", method: "POST", path: "/artefacts/docs/hello.txt", body: string(v1), headers: []string{"Content-Type", ""}, status: 201,
			wantHeader: map[string]string{"Location": "/artefacts/docs/hello.txt", "ETag": `"` + sha(v1) + `"`, "Content-Type": "application/json"},
			check: func(t testing.TB, r *response) {
				m := meta(t, r.Body)
				if m["directory"] != "docs" || m["id"] != "hello.txt" || m["version"] != 1.0 || m["size"] != float64(len(v1)) || m["sha256"] != sha(v1) ||
					m["content_type"] != "text/plain; charset=utf-8" || m["created"] == nil || m["created"] != m["updated"] {
					t.Fatalf("metadata %s", r.Body)
				}
			}},
		{name: "push again is a conflict", method: "POST", path: "/artefacts/docs/hello.txt", body: "x", status: 409},
		{name: "download", method: "GET", path: "/artefacts/docs/hello.txt", status: 200,
			wantHeader: map[string]string{"ETag": `"` + sha(v1) + `"`, "Content-Length": strconv.Itoa(len(v1)), "Accept-Ranges": "bytes",
				"Repr-Digest": "sha-256=:" + b64sha(v1) + ":", "X-Artefact-Version": "1", "Last-Modified": "*",
				"Content-Disposition": "attachment; filename=hello.txt", "Content-Type": "text/plain; charset=utf-8"},
			check: func(t testing.TB, r *response) {
				if !bytes.Equal(r.Body, v1) {
					t.Fatalf("body %q", r.Body)
				}
			}},
		{name: "the singular alias", method: "GET", path: "/artefact/docs/hello.txt", status: 200},
		{name: "304", method: "GET", path: "/artefacts/docs/hello.txt", headers: []string{"If-None-Match", `"` + sha(v1) + `"`}, status: 304},
		{name: "range", method: "GET", path: "/artefacts/docs/hello.txt", headers: []string{"Range", "bytes=6-14"}, status: 206,
			wantHeader: map[string]string{"Content-Range": fmt.Sprintf("bytes 6-14/%d", len(v1))},
			check: func(t testing.TB, r *response) {
				if string(r.Body) != "artefacts" {
					t.Fatalf("range body %q", r.Body)
				}
			}},
		{name: "unsatisfiable range", method: "GET", path: "/artefacts/docs/hello.txt", headers: []string{"Range", "bytes=999-"}, status: 416},
		{name: "stale if-match on replace", method: "PUT", path: "/artefacts/docs/hello.txt", body: string(v2), headers: []string{"If-Match", `"` + sha(v2) + `"`}, status: 412},
		{name: "create-only PUT on an existing artefact", method: "PUT", path: "/artefacts/docs/hello.txt", body: string(v2), headers: []string{"If-None-Match", "*"}, status: 412},
		{name: "replace", method: "PUT", path: "/artefacts/docs/hello.txt", body: string(v2), headers: []string{"If-Match", `"` + sha(v1) + `"`, "Content-Type", "text/markdown"}, status: 200,
			check: func(t testing.TB, r *response) {
				if m := meta(t, r.Body); m["version"] != 2.0 || m["content_type"] != "text/markdown" {
					t.Fatalf("replace: %s", r.Body)
				}
			}},
		{name: "if-range with the old etag gives the whole new file", method: "GET", path: "/artefacts/docs/hello.txt",
			headers: []string{"Range", "bytes=0-3", "If-Range", `"` + sha(v1) + `"`}, status: 200,
			check: func(t testing.TB, r *response) {
				if !bytes.Equal(r.Body, v2) {
					t.Fatalf("body %q", r.Body)
				}
			}},
		{name: "old version", method: "GET", path: "/artefacts/docs/hello.txt?version=1", status: 200,
			wantHeader: map[string]string{"X-Artefact-Version": "1", "Cache-Control": "public, max-age=31536000, immutable"},
			check: func(t testing.TB, r *response) {
				if !bytes.Equal(r.Body, v1) {
					t.Fatalf("v1 body %q", r.Body)
				}
			}},
		{name: "versions, newest first", method: "GET", path: "/artefacts/docs/hello.txt/versions", status: 200,
			check: func(t testing.TB, r *response) {
				var vs []map[string]any
				_ = json.Unmarshal(r.Body, &vs)
				if len(vs) != 2 || vs[0]["version"] != 2.0 || vs[1]["version"] != 1.0 {
					t.Fatalf("versions %s", r.Body)
				}
			}},
		{name: "PUT creates", method: "PUT", path: "/artefacts/docs/new.bin", body: "\x89PNG\r\n\x1a\n0000", headers: []string{"Content-Type", ""}, status: 201,
			check: func(t testing.TB, r *response) {
				if m := meta(t, r.Body); m["content_type"] != "image/png" {
					t.Fatalf("detected type: %s", r.Body)
				}
			}},
		{name: "list a directory", method: "GET", path: "/artefacts/docs", status: 200,
			check: func(t testing.TB, r *response) {
				var as []map[string]any
				_ = json.Unmarshal(r.Body, &as)
				if len(as) != 2 || as[0]["id"] != "hello.txt" || as[0]["version"] != 2.0 || as[1]["id"] != "new.bin" {
					t.Fatalf("list %s", r.Body)
				}
			}},
		{name: "list directories", method: "GET", path: "/artefacts", status: 200,
			check: func(t testing.TB, r *response) {
				var ds []map[string]any
				_ = json.Unmarshal(r.Body, &ds)
				if len(ds) != 1 || ds[0]["name"] != "docs" || ds[0]["artefacts"] != 2.0 || ds[0]["size"] != float64(len(v2)+12) {
					t.Fatalf("directories %s", r.Body)
				}
			}},
		{name: "find by digest", method: "GET", path: "/artefacts?sha256=" + sha(v1), status: 200,
			check: func(t testing.TB, r *response) {
				var as []map[string]any
				_ = json.Unmarshal(r.Body, &as)
				if len(as) != 1 || as[0]["id"] != "hello.txt" || as[0]["version"] != 1.0 {
					t.Fatalf("by digest %s", r.Body)
				}
			}},
		{name: "bad digest", method: "GET", path: "/artefacts?sha256=xyz", status: 400},
		{name: "unknown directory", method: "GET", path: "/artefacts/nope", status: 404},
		{name: "unknown artefact", method: "GET", path: "/artefacts/docs/nope", status: 404},
		{name: "unknown version", method: "GET", path: "/artefacts/docs/hello.txt?version=9", status: 404},
		{name: "bad version", method: "GET", path: "/artefacts/docs/hello.txt?version=0", status: 400},
		{name: "PATCH is not a verb here", method: "PATCH", path: "/artefacts/docs/hello.txt", body: "x", status: 405,
			wantHeader: map[string]string{"Allow": "GET, HEAD, POST, PUT, DELETE, OPTIONS"}},
		{name: "delete one version", method: "DELETE", path: "/artefacts/docs/hello.txt?version=1", status: 204},
		{name: "it is gone", method: "GET", path: "/artefacts/docs/hello.txt?version=1", status: 404},
		{name: "digest no longer found", method: "GET", path: "/artefacts?sha256=" + sha(v1), status: 200, wantJSON: `[]`},
		{name: "delete an artefact", method: "DELETE", path: "/artefacts/docs/hello.txt", status: 204},
		{method: "GET", path: "/artefacts/docs/hello.txt", status: 404},
		{name: "delete a directory", method: "DELETE", path: "/artefacts/docs", status: 204},
		{method: "GET", path: "/artefacts/docs", status: 404},
		{method: "GET", path: "/artefacts", status: 200, wantJSON: `[]`},
	})
	// Nothing is left on disk once every reference is gone.
	if n := countBlobs(t, s.Data); n != 0 {
		t.Fatalf("%d blobs left after deleting everything", n)
	}
}

func countBlobs(t testing.TB, data string) int {
	t.Helper()
	n := 0
	_ = filepath.WalkDir(filepath.Join(data, "blobs"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func TestArtefactNamesAndChecksums(t *testing.T) {
	s := startServer(t, "")
	body := []byte("checked content")
	steps := []step{
		{name: "dot-dot directory", method: "PUT", path: "/artefacts/%2e%2e/x", body: "x", status: 400},
		{name: "dot-dot id", method: "PUT", path: "/artefacts/d/%2E%2E", body: "x", status: 400},
		{name: "NUL", method: "PUT", path: "/artefacts/d/a%00b", body: "x", status: 400},
		{name: "backslash", method: "PUT", path: "/artefacts/d/a%5Cb", body: "x", status: 400},
		{name: "encoded slash", method: "PUT", path: "/artefacts/d/a%2Fb", body: "x", status: 400},
		{name: "control character", method: "PUT", path: "/artefacts/d/a%0Ab", body: "x", status: 400},
		{name: "invalid UTF-8", method: "PUT", path: "/artefacts/d/%ff", body: "x", status: 400},
		{name: "too long", method: "PUT", path: "/artefacts/d/" + strings.Repeat("x", 256), body: "x", status: 400},
		{name: "checksum mismatch stores nothing", method: "PUT", path: "/artefacts/d/c.txt", body: string(body), headers: []string{"X-Checksum-Sha256", sha([]byte("other"))}, status: 400},
		{name: "content-digest mismatch stores nothing", method: "PUT", path: "/artefacts/d/c.txt", body: string(body), headers: []string{"Content-Digest", "sha-256=:" + b64sha([]byte("other")) + ":"}, status: 400},
		{method: "GET", path: "/artefacts/d/c.txt", status: 404},
		{name: "matching checksum", method: "PUT", path: "/artefacts/d/c.txt", body: string(body), headers: []string{"X-Checksum-Sha256", strings.ToUpper(sha(body)), "Content-Digest", "sha-256=:" + b64sha(body) + ":"}, status: 201},
		{name: "unicode NFD name is stored NFC", method: "PUT", path: "/artefacts/d/Caf%65%CC%81.txt", body: "café", status: 201,
			check: func(t testing.TB, r *response) {
				if m := meta(t, r.Body); m["id"] != "Café.txt" {
					t.Fatalf("id %q", m["id"])
				}
			}},
		{name: "and read back by its NFC name", method: "GET", path: "/artefacts/d/Caf%C3%A9.txt", status: 200},
		{name: "emoji", method: "PUT", path: "/artefacts/%F0%9F%93%A6/r%C3%A9sum%C3%A9%20v1.pdf", body: "%PDF-1.4\n", status: 201},
	}
	for i := range steps {
		steps[i].check = chain(steps[i].check, checkNoLeak)
	}
	s.run(t, steps)
	if n := countBlobs(t, s.Data); n != 3 {
		t.Fatalf("blobs on disk: %d, want 3 (refused uploads keep nothing)", n)
	}
	if entries, _ := os.ReadDir(filepath.Join(s.Data, "tmp")); len(entries) != 0 {
		t.Fatalf("temporary files left: %d", len(entries))
	}
}

func TestArtefactMultipartAndDedup(t *testing.T) {
	s := startServer(t, "")
	content := bytes.Repeat([]byte("same bytes "), 1000)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("note", "ignored form field")
	fw, _ := mw.CreateFormFile("file", "report.csv")
	fw.Write(content)
	mw.Close()
	r := s.do("POST", "/artefacts/up/data", buf.String(), "Content-Type", mw.FormDataContentType())
	if r.Status != 201 {
		t.Fatalf("multipart: %d %s", r.Status, r.Body)
	}
	if m := meta(t, r.Body); m["size"] != float64(len(content)) || m["sha256"] != sha(content) || m["filename"] != "report.csv" || m["content_type"] != "text/csv; charset=utf-8" {
		t.Fatalf("multipart metadata: %s", r.Body)
	}
	r = s.do("GET", "/artefacts/up/data", "")
	if !bytes.Equal(r.Body, content) || r.Header.Get("Content-Disposition") != "attachment; filename=report.csv" {
		t.Fatalf("multipart download: %d bytes, %q", len(r.Body), r.Header.Get("Content-Disposition"))
	}
	for i := 0; i < 5; i++ {
		if r := s.do("PUT", fmt.Sprintf("/artefacts/copies/c%d", i), string(content)); r.Status != 201 {
			t.Fatalf("copy %d: %d", i, r.Status)
		}
	}
	if n := countBlobs(t, s.Data); n != 1 {
		t.Fatalf("identical content must be stored once: %d blobs", n)
	}
	if r := s.do("POST", "/artefacts/up/nofile", "--x--", "Content-Type", "multipart/form-data; boundary=x"); r.Status != 400 {
		t.Fatalf("multipart without a file: %d %s", r.Status, r.Body)
	}
}

func TestArtefactConcurrentReplaces(t *testing.T) {
	s := startServer(t, "")
	var wg sync.WaitGroup
	want := map[string]bool{}
	var mu sync.Mutex
	for i := 0; i < 20; i++ {
		body := fmt.Sprintf("content number %d", i)
		want[sha([]byte(body))] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := s.do("PUT", "/artefacts/race/x", body)
			mu.Lock()
			defer mu.Unlock()
			if r.Status != 200 && r.Status != 201 {
				t.Errorf("PUT: %d %s", r.Status, r.Body)
			}
		}()
	}
	wg.Wait()
	var vs []map[string]any
	_ = json.Unmarshal(s.do("GET", "/artefacts/race/x/versions", "").Body, &vs)
	got := map[string]bool{}
	for _, v := range vs {
		got[v["sha256"].(string)] = true
	}
	if len(vs) != 20 || len(got) != 20 || vs[0]["version"] != 20.0 {
		t.Fatalf("20 concurrent PUTs gave %d versions with %d digests", len(vs), len(got))
	}
	for d := range want {
		if !got[d] {
			t.Fatalf("digest %s lost", d)
		}
	}
}

const limitsConfig = `
apis:
  - nouns:
      x: {fields: {a: {type: integer, default: 1}}}
artefacts:
  path: /files
  max_size: 1KiB
  keep_versions: 3
  directories:
    keep-one: {keep_versions: 1}
    big: {max_size: 1MiB}
`

func TestArtefactLimitsAndRetention(t *testing.T) {
	s := startServer(t, "", "--config", writeConfig(t, limitsConfig))
	small := strings.Repeat("x", 1024)
	s.run(t, []step{
		{name: "at the limit", method: "PUT", path: "/files/d/a", body: small, status: 201},
		{name: "over the limit (declared length)", method: "PUT", path: "/files/d/b", body: small + "x", status: 413},
		{name: "a directory with a larger limit", method: "PUT", path: "/files/big/b", body: small + "x", status: 201},
	})
	// Over the limit with no declared length: detected while streaming.
	req, _ := http.NewRequest("PUT", s.URL+"/files/d/chunked", io.MultiReader(strings.NewReader(small), strings.NewReader("more")))
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("chunked over the limit: %d", resp.StatusCode)
	}
	for i := 0; i < 5; i++ {
		s.do("PUT", "/files/d/kept", fmt.Sprintf("v%d", i))
		s.do("PUT", "/files/keep-one/k", fmt.Sprintf("k%d", i))
	}
	var vs []map[string]any
	_ = json.Unmarshal(s.do("GET", "/files/d/kept/versions", "").Body, &vs)
	if len(vs) != 3 || vs[0]["version"] != 5.0 || vs[2]["version"] != 3.0 {
		t.Fatalf("keep_versions 3: %v", vs)
	}
	_ = json.Unmarshal(s.do("GET", "/files/keep-one/k/versions", "").Body, &vs)
	if len(vs) != 1 || vs[0]["version"] != 5.0 {
		t.Fatalf("per-directory keep_versions 1: %v", vs)
	}
	// a, big/b, 3 kept + 1 kept versions: pruned content is freed.
	if n := countBlobs(t, s.Data); n != 6 {
		t.Fatalf("blobs: %d, want 6", n)
	}
	s.run(t, []step{{name: "the default path is not served under another", method: "GET", path: "/artefacts", status: 404}})
}

func TestArtefactDiskFloor(t *testing.T) {
	cfg := "apis:\n  - nouns:\n      x: {fields: {a: {type: integer, default: 1}}}\nartefacts:\n  min_free: 1000000TiB\n"
	s := startServer(t, "", "--config", writeConfig(t, cfg))
	s.run(t, []step{{name: "507 below the free-space floor", method: "PUT", path: "/artefacts/d/x", body: "x", status: 507,
		wantJSON: problemJSON(507, "the repository's disk is too full to take this upload")}})
}

// zeroReader yields n bytes of a repeating pattern without holding them.
type patternReader struct{ left int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.left <= 0 {
		return 0, io.EOF
	}
	n := int64(len(b))
	if n > p.left {
		n = p.left
	}
	for i := range b[:n] {
		b[i] = byte(i * 7)
	}
	p.left -= n
	return int(n), nil
}

func peakRSS(t testing.TB, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return kb << 10
		}
	}
	t.Skip("no VmHWM")
	return 0
}

// TestArtefactStreamsInConstantMemory uploads and downloads 300 MiB and requires the
// server's peak RSS to stay under 100 MiB.
func TestArtefactStreamsInConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("large transfer")
	}
	s := startServer(t, "")
	const size = 300 << 20
	req, _ := http.NewRequest("PUT", s.URL+"/artefacts/big/blob.bin", &patternReader{left: size})
	req.ContentLength = size
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	want := sha256.New()
	io.Copy(want, &patternReader{left: size})
	if m := meta(t, body); m["sha256"] != hex.EncodeToString(want.Sum(nil)) {
		t.Fatalf("digest %v", m["sha256"])
	}
	resp, err = client.Get(s.URL + "/artefacts/big/blob.bin")
	if err != nil {
		t.Fatal(err)
	}
	got := sha256.New()
	n, _ := io.Copy(got, resp.Body)
	resp.Body.Close()
	if n != size || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatalf("download: %d bytes", n)
	}
	if rss := peakRSS(t, s.cmd.Process.Pid); rss > 100<<20 {
		t.Fatalf("peak RSS %d MiB for a 300 MiB transfer", rss>>20)
	}
}

// TestArtefactKillDuringReplace kills the server (SIGKILL) in the middle of a large
// replace; after a restart the old version is whole and no partial one exists.
func TestArtefactKillDuringReplace(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	old := []byte("the previous version, whole")
	if r := s.do("PUT", "/artefacts/k/file", string(old)); r.Status != 201 {
		t.Fatalf("%d", r.Status)
	}
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("PUT", s.URL+"/artefacts/k/file", pr)
	req.ContentLength = 64 << 20
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
	}()
	chunk := bytes.Repeat([]byte("n"), 1<<20)
	for i := 0; i < 8; i++ { // 8 of 64 MiB sent
		if _, err := pw.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	// Killed mid-upload: once the server is writing the new content to its temp file.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if entries, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(entries) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the upload never reached a temp file")
		}
	}
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-s.done
	pw.CloseWithError(io.ErrClosedPipe)

	s2 := startServer(t, dir)
	r := s2.do("GET", "/artefacts/k/file", "")
	if r.Status != 200 || !bytes.Equal(r.Body, old) || r.Header.Get("X-Artefact-Version") != "1" {
		t.Fatalf("after the crash: %d v%s %q", r.Status, r.Header.Get("X-Artefact-Version"), r.Body)
	}
	var vs []map[string]any
	_ = json.Unmarshal(s2.do("GET", "/artefacts/k/file/versions", "").Body, &vs)
	if len(vs) != 1 {
		t.Fatalf("versions after the crash: %v", vs)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(entries) != 0 {
		t.Fatalf("the partial upload was not cleaned at start: %d temp files", len(entries))
	}
	if n := countBlobs(t, dir); n != 1 {
		t.Fatalf("blobs after restart: %d", n)
	}
}

func TestArtefactListingPages(t *testing.T) {
	s := startServer(t, "")
	for i, id := range []string{"b.txt", "a.txt", "c.txt", "ab.txt", "d.bin"} {
		if r := s.do("PUT", "/artefacts/p/"+id, strings.Repeat("z", 10*(i+1))); r.Status != 201 {
			t.Fatalf("%s: %d", id, r.Status)
		}
	}
	walk := func(path string) []string {
		t.Helper()
		var ids []string
		for path != "" {
			r := s.do("GET", path, "")
			if r.Status != 200 {
				t.Fatalf("%s: %d %s", path, r.Status, r.Body)
			}
			var as []map[string]any
			_ = json.Unmarshal(r.Body, &as)
			for _, a := range as {
				ids = append(ids, a["id"].(string))
			}
			path = parseLinks(r.Header.Get("Link"))["next"]
		}
		return ids
	}
	for path, want := range map[string]string{
		"/artefacts/p?limit=2":              "a.txt ab.txt b.txt c.txt d.bin",
		"/artefacts/p?limit=2&sort=-size":   "d.bin ab.txt c.txt a.txt b.txt",
		"/artefacts/p?limit=1&prefix=a":     "a.txt ab.txt",
		"/artefacts/p?limit=3&sort=updated": "b.txt a.txt c.txt ab.txt d.bin",
		"/artefacts/p?prefix=zzz":           "",
	} {
		if got := strings.Join(walk(path), " "); got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
	s.run(t, []step{
		{name: "bad sort", method: "GET", path: "/artefacts/p?sort=colour", status: 400},
		{name: "unknown parameter", method: "GET", path: "/artefacts/p?color=red", status: 400},
		{name: "the index lists the repository", method: "GET", path: "/", status: 200, wantIn: []string{`{"path":"/artefacts","kind":"artefacts"}`}},
	})
}

// TestArtefactReviewFindings: regressions for defects found in review.
func TestArtefactReviewFindings(t *testing.T) {
	s := startServer(t, "")
	form := func(filename string) (string, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{`form-data; name="file"; filename*=UTF-8''` + filename}
		pw, _ := mw.CreatePart(h)
		pw.Write([]byte("payload"))
		mw.Close()
		return buf.String(), mw.FormDataContentType()
	}
	spoof, spoofType := form("report%E2%80%AEfdp.exe")
	ctrl, ctrlType := form("a%01b.txt")
	s.do("PUT", "/artefacts/nf/%C3%A9t%C3%A9", "summer")
	s.do("PUT", "/artefacts/r/file.txt", "0123456789")
	s.run(t, []step{
		{name: "a spoofing multipart filename", method: "POST", path: "/artefacts/up/x", body: spoof, headers: []string{"Content-Type", spoofType}, status: 400,
			wantJSON: problemJSON(400, "file name must not contain control characters", "file", "must not contain control characters")},
		{name: "a control character in a multipart filename", method: "POST", path: "/artefacts/up/x", body: ctrl, headers: []string{"Content-Type", ctrlType}, status: 400},
		{name: "416 is a problem, not Go's text", method: "GET", path: "/artefacts/r/file.txt", headers: []string{"Range", "bytes=100-"}, status: 416,
			wantHeader: map[string]string{"Content-Type": "application/problem+json", "Content-Range": "bytes */10"},
			wantJSON:   problemJSON(416, "the range is not within the file's 10 bytes")},
		{name: "412 from If-Match on a download is a problem", method: "GET", path: "/artefacts/r/file.txt", headers: []string{"If-Match", `"nope"`}, status: 412,
			wantHeader: map[string]string{"Content-Type": "application/problem+json"}},
		{name: "an NFD prefix finds NFC names", method: "GET", path: "/artefacts/nf?prefix=e%CC%81", status: 200,
			check: func(t testing.TB, r *response) {
				if !strings.Contains(string(r.Body), `"id":"été"`) {
					t.Fatalf("%s", r.Body)
				}
			}},
		{name: "literal dot-dot is a 400, not a redirect", method: "PUT", path: "/artefacts/d1/..", body: "x", status: 400},
		{name: "literal dot", method: "PUT", path: "/artefacts/d1/./x", body: "x", status: 400},
		{name: "empty segment", method: "PUT", path: "/artefacts/d1//x", body: "x", status: 400},
		{name: "empty digest", method: "GET", path: "/artefacts?sha256=", status: 400},
		{name: "a version number is never given twice", method: "DELETE", path: "/artefacts/r/file.txt", status: 204},
		{method: "PUT", path: "/artefacts/r/file.txt", body: "new bytes", status: 201,
			check: func(t testing.TB, r *response) {
				if m := meta(t, r.Body); m["version"] != 2.0 {
					t.Fatalf("re-created artefact got version %v", m["version"])
				}
			}},
		{method: "GET", path: "/artefacts/r/file.txt?version=1", status: 404},
	})
}
