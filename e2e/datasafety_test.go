package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// waitFor polls cond until it holds, failing the test after a generous bound (the
// machine may be loaded: the bound is for a hang, not for speed).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSecondServerOnALiveDataDirectory: a second `restkit serve` on a data directory
// a live server uses exits 1 naming the live server's pid, and changes nothing: the
// live server's upload in progress (a staged file in DATA/tmp) survives and completes.
// Before the lock, the second start emptied tmp/ and collected blobs even though it
// then failed or ran beside the first, and acknowledged uploads were lost.
func TestSecondServerOnALiveDataDirectory(t *testing.T) {
	dir := t.TempDir()
	a := startServer(t, dir)

	// An upload in progress on a: half of its body sent, staged under tmp/.
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("PUT", a.URL+"/artefacts/live/upload.bin", pr)
	req.ContentLength = int64(len(body))
	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		resp.Body.Close()
		done <- result{status: resp.StatusCode}
	}()
	if _, err := pw.Write(body[:len(body)/2]); err != nil {
		t.Fatal(err)
	}
	staged := func() []os.DirEntry { e, _ := os.ReadDir(filepath.Join(dir, "tmp")); return e }
	waitFor(t, "the upload to be staged in tmp/", func() bool { return len(staged()) > 0 })

	// The second serve must exit by itself; one still running after a minute (it
	// started beside the first) is killed and fails the test.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	second := exec.CommandContext(ctx, binary, "serve", "--addr", freeAddr(t), "--data", dir)
	second.Env = cleanEnv()
	outb, err := second.CombinedOutput()
	out := string(outb)
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("second serve: %v, want exit status 1\n%s", err, out)
	}
	if want := "is in use by pid " + strconv.Itoa(a.cmd.Process.Pid); !strings.Contains(out, want) {
		t.Fatalf("second serve says %q, want it to contain %q", out, want)
	}
	if len(staged()) == 0 {
		t.Fatal("the refused second serve removed the live server's staged upload")
	}

	if _, err := pw.Write(body[len(body)/2:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if res := <-done; res.err != nil || res.status != 201 {
		t.Fatalf("the upload in progress: %d %v", res.status, res.err)
	}
	r := a.do("GET", "/artefacts/live/upload.bin", "")
	if r.Status != 200 || sha256.Sum256(r.Body) != sha256.Sum256(body) {
		t.Fatalf("download after the refused start: %d, %d bytes", r.Status, len(r.Body))
	}

	// Once the first server has stopped, the directory is free again.
	a.stop()
	b := startServer(t, dir)
	if r := b.do("GET", "/artefacts/live/upload.bin", ""); r.Status != 200 || len(r.Body) != len(body) {
		t.Fatalf("after a restart: %d, %d bytes", r.Status, len(r.Body))
	}
}
