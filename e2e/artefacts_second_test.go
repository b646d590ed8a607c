package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	rkclient "github.com/restkit/restkit/client"
)

// The artefact repository's second level (DESIGN §14) through the real binary: an
// independent tus client, the CLI's deploy by checksum and resumed pushes, ls -R,
// properties in versions, and cleanup --dry-run.

// tusclient is the npm package of tus-js-client (package.json, package-lock.json;
// .ci/run runs npm ci there), from the e2e package's directory.
const tusclient = "../tools/tusclient"

// randomFile writes n random bytes to a file in dir and returns its path and SHA-256.
func randomFile(t *testing.T, dir string, n int) (string, []byte) {
	t.Helper()
	b := make([]byte, n)
	_, _ = rand.Read(b)
	p := filepath.Join(dir, "data-"+strconv.Itoa(n))
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, b
}

// TestTusJSClient: tus-js-client uploads to /_uploads, is aborted half way, and
// resumes the upload from the offset the server kept; the artefact is whole.
func TestTusJSClient(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		needTool(t, "Node.js (node)")
	}
	script, err := filepath.Abs(filepath.Join(tusclient, "upload.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(tusclient, "node_modules", "tus-js-client", "package.json")); err != nil {
		needTool(t, "tools/tusclient's npm packages (cd tools/tusclient && npm ci)")
	}
	s := startServer(t, "")
	file, content := randomFile(t, t.TempDir(), 3<<20)
	node := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("node", append([]string{script, s.URL + "/_uploads", file, "tus/js/big.bin"}, args...)...)
		cmd.Dir = tusclient
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("node %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	out := node("--abort-at", "0.5")
	url, ok := strings.CutPrefix(out, "aborted ")
	if !ok || !strings.Contains(url, "/_uploads/") {
		t.Fatalf("aborted run: %q", out)
	}
	path := url[strings.Index(url, "/_uploads/"):]
	r := s.do("HEAD", path, "", "Tus-Resumable", "1.0.0")
	offset, _ := strconv.Atoi(r.Header.Get("Upload-Offset"))
	if r.Status != 200 || offset <= 0 || offset >= len(content) || r.Header.Get("Upload-Length") != strconv.Itoa(len(content)) {
		t.Fatalf("after the abort: %d offset %q length %q", r.Status, r.Header.Get("Upload-Offset"), r.Header.Get("Upload-Length"))
	}
	if out := node("--resume", url); out != "done "+url {
		t.Fatalf("resumed run: %q", out)
	}
	got := s.do("GET", "/artefacts/tus/js/big.bin", "")
	if got.Status != 200 || !bytes.Equal(got.Body, content) {
		t.Fatalf("the artefact: %d, %d bytes", got.Status, len(got.Body))
	}
	sum := sha256.Sum256(content)
	if got.Header.Get("ETag") != `"`+hex.EncodeToString(sum[:])+`"` || got.Header.Get("X-Artefact-Version") != "1" {
		t.Fatalf("headers: %v", got.Header)
	}
}

// TestCLIPushDeploysAndResumes: restkit push sends a file over 1 MiB whose content the
// server holds as a deploy by checksum (no bytes); it continues an upload that an
// earlier push left half way, sending only the rest.
func TestCLIPushDeploysAndResumes(t *testing.T) {
	s := startServer(t, "")
	tmp := t.TempDir()
	file, content := randomFile(t, tmp, 2<<20+17)
	env := []string{"RESTKIT_SERVER=" + s.URL, "XDG_CACHE_HOME=" + filepath.Join(tmp, "cache"), "HOME=" + tmp}
	out, err := runCLI(t, env, "push", "org/app/1.0/app.bin", file)
	if err != nil {
		t.Fatalf("first push: %v\n%s", err, out)
	}
	out, err = runCLI(t, env, "push", "org/app/1.1/app.bin", file)
	if err != nil || !strings.Contains(out, "deployed by checksum: the server holds this content; no bytes sent") {
		t.Fatalf("second push: %v\n%s", err, out)
	}
	// An upload broken off half way by an earlier push: its URL is in the cache.
	other, content2 := randomFile(t, tmp, 3<<20)
	sum := sha256.Sum256(content2)
	hexSum := hex.EncodeToString(sum[:])
	r := s.do("POST", "/_uploads", "", "Tus-Resumable", "1.0.0", "Upload-Length", strconv.Itoa(len(content2)),
		"Upload-Metadata", "path "+base64.StdEncoding.EncodeToString([]byte("org/app/1.2/app.bin")), "X-Checksum-Sha256", hexSum)
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	loc := r.Header.Get("Location")
	half := len(content2) / 2
	if r := s.do("PATCH", loc, string(content2[:half]), "Tus-Resumable", "1.0.0", "Content-Type", "application/offset+octet-stream", "Upload-Offset", "0"); r.Status != 204 {
		t.Fatalf("first half: %d %s", r.Status, r.Body)
	}
	key := sha256.Sum256([]byte(s.URL + "\n" + "org/app/1.2/app.bin" + "\n" + hexSum))
	state := filepath.Join(tmp, "cache", "restkit", "uploads", hex.EncodeToString(key[:16]))
	if err := os.MkdirAll(filepath.Dir(state), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(state, []byte(s.URL+loc+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, env, "push", "org/app/1.2/app.bin", other)
	want := "resumed an interrupted upload: sent " + strconv.Itoa(len(content2)-half) + " of " + strconv.Itoa(len(content2)) + " bytes"
	if err != nil || !strings.Contains(out, want) {
		t.Fatalf("resumed push: %v\n%s\nwant %q", err, out, want)
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Fatalf("the upload's state outlived it: %v", err)
	}
	for p, want := range map[string][]byte{"org/app/1.0/app.bin": content, "org/app/1.1/app.bin": content, "org/app/1.2/app.bin": content2} {
		if r := s.do("GET", "/artefacts/"+p, ""); r.Status != 200 || !bytes.Equal(r.Body, want) {
			t.Fatalf("%s: %d, %d bytes", p, r.Status, len(r.Body))
		}
	}
	// ls walks the tree; versions shows properties.
	cl := rkclient.New(s.URL)
	if _, err := cl.SetProperties(context.Background(), "org/app/1.2", "app.bin", 0, map[string]string{"build": "142"}); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, env, "ls", "-R", "--format", "table", "org")
	for _, line := range []string{"org/:", "app/", "org/app/:", "1.0/", "1.2/", "org/app/1.2/:", "app.bin"} {
		if err != nil || !strings.Contains(out, line+"\n") && !strings.Contains(out, line+" ") {
			t.Fatalf("ls -R: %v, lacks %q:\n%s", err, line, out)
		}
	}
	out, err = runCLI(t, env, "versions", "--format", "table", "org/app/1.2/app.bin")
	if err != nil || !strings.Contains(out, "build=142") {
		t.Fatalf("versions: %v\n%s", err, out)
	}
}

// TestCLICleanupDryRun: restkit cleanup --dry-run says what the policies would delete
// and the bytes freed, and deletes nothing; restkit cleanup deletes it.
func TestCLICleanupDryRun(t *testing.T) {
	cfg := writeConfig(t, `
apis:
  - resources:
      cars: {key: id, fields: {id: {type: integer}}}
artefacts:
  cleanup:
    - {match: "snapshots/**", older_than: 1h, keep_latest: 1}
`)
	s := startServer(t, "", "--config", cfg)
	for _, body := range []string{"one", "two", "three"} {
		if r := s.do("PUT", "/artefacts/snapshots/app/x.bin", body, "Content-Type", "application/octet-stream"); r.Status >= 300 {
			t.Fatalf("upload: %d %s", r.Status, r.Body)
		}
	}
	env := []string{"RESTKIT_SERVER=" + s.URL}
	// Nothing is an hour old yet.
	out, err := runCLI(t, env, "cleanup", "--dry-run")
	if err != nil || strings.TrimSpace(out) != "0 versions; 0 B (0 bytes) would be freed" {
		t.Fatalf("cleanup --dry-run: %v\n%s", err, out)
	}
	r := s.do("GET", "/metrics", "")
	if !strings.Contains(string(r.Body), `restkit_artefact_cleanup_runs_total{dry_run="true",outcome="ok"} 1`) {
		t.Fatalf("metrics: %s", r.Body)
	}
	if r := s.do("GET", "/artefacts/snapshots/app/x.bin/versions", ""); r.Status != 200 || strings.Count(string(r.Body), `"version"`) != 3 {
		t.Fatalf("versions: %d %s", r.Status, r.Body)
	}
}

// TestScheduledCleanup: the server runs the cleanup policies on its own, every
// cleanup_every (hourly by default): versions past a policy go without anyone
// asking, the newest keep_latest stay, other directories are untouched, and
// /metrics counts the runs.
func TestScheduledCleanup(t *testing.T) {
	cfg := writeConfig(t, `
apis:
  - resources:
      cars: {key: id, fields: {id: {type: integer}}}
artefacts:
  cleanup_every: 1s
  cleanup:
    - {match: "snapshots/**", older_than: 1s, keep_latest: 1}
`)
	s := startServer(t, "", "--config", cfg)
	for _, path := range []string{"snapshots/app/x.bin", "snapshots/app/x.bin", "snapshots/app/x.bin", "releases/app/x.bin", "releases/app/x.bin"} {
		if r := s.do("PUT", "/artefacts/"+path, "bytes of "+path, "Content-Type", "application/octet-stream"); r.Status >= 300 {
			t.Fatalf("upload %s: %d %s", path, r.Status, r.Body)
		}
	}
	versions := func(path string) int {
		r := s.do("GET", "/artefacts/"+path+"/versions", "")
		if r.Status != 200 {
			t.Fatalf("versions of %s: %d %s", path, r.Status, r.Body)
		}
		return strings.Count(string(r.Body), `"version"`)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for versions("snapshots/app/x.bin") != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the snapshots still have %d versions after 2 minutes of cleanups every second", versions("snapshots/app/x.bin"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if r := s.do("GET", "/artefacts/snapshots/app/x.bin", ""); r.Status != 200 || string(r.Body) != "bytes of snapshots/app/x.bin" || r.Header.Get("X-Artefact-Version") != "3" {
		t.Fatalf("the newest snapshot: %d %v %s", r.Status, r.Header, r.Body)
	}
	if n := versions("releases/app/x.bin"); n != 2 {
		t.Errorf("releases, which no policy matches, have %d versions, want 2", n)
	}
	r := s.do("GET", "/metrics", "")
	if !strings.Contains(string(r.Body), `restkit_artefact_cleanup_runs_total{dry_run="false",outcome="ok"}`) {
		t.Errorf("/metrics counts no scheduled run: %s", r.Body)
	}
}

// TestUploadOffsetSurvivesRestart: the bytes a resumable upload received, and its
// offset, outlive the server (kill -9 included); the upload then completes whole.
func TestUploadOffsetSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	tus := []string{"Tus-Resumable", "1.0.0"}
	r := s.do("POST", "/_uploads", "", append(tus, "Upload-Length", "11", "Upload-Metadata", "path "+base64.StdEncoding.EncodeToString([]byte("keep/me.txt")))...)
	loc := r.Header.Get("Location")
	if r.Status != 201 || loc == "" {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	patch := func(s *server, offset, body string) *response {
		return s.do("PATCH", loc, body, append(tus, "Content-Type", "application/offset+octet-stream", "Upload-Offset", offset)...)
	}
	if r := patch(s, "0", "hello"); r.Status != 204 || r.Header.Get("Upload-Offset") != "5" {
		t.Fatalf("first PATCH: %d %v", r.Status, r.Header)
	}
	_ = s.cmd.Process.Kill() // kill -9: no drain, no clean stop
	s.done <- <-s.done       // wait for it, and leave the news for the harness's own stop
	s2 := startServer(t, dir)
	if r := s2.do("HEAD", loc, "", tus...); r.Status != 200 || r.Header.Get("Upload-Offset") != "5" {
		t.Fatalf("HEAD after the restart: %d %v", r.Status, r.Header)
	}
	if r := patch(s2, "5", " world"); r.Status != 204 || r.Header.Get("X-Artefact-Version") != "1" {
		t.Fatalf("last PATCH: %d %v %s", r.Status, r.Header, r.Body)
	}
	if r := s2.do("GET", "/artefacts/keep/me.txt", ""); r.Status != 200 || string(r.Body) != "hello world" {
		t.Fatalf("the artefact: %d %q", r.Status, r.Body)
	}
}
