package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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

// mountTmpfs mounts a tmpfs of size bytes on a new directory and unmounts it when the
// test ends (after the servers of the test have stopped: cleanups run last-in,
// first-out). It needs root; without it the test is skipped, with a line that shows
// without -v.
func mountTmpfs(t *testing.T, size int64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "small-disk")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.FormatInt(size, 10)+",mode=0700", "tmpfs", dir).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: skipped %s: it mounts a small tmpfs to fill the disk and cannot here (%v: %s)\n", t.Name(), err, bytes.TrimSpace(out))
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// fillDisk writes a file in dir until the disk is full, and returns its path.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the disk: %v", err)
			}
			break
		}
	}
	// What a write could not fit in whole chunks, in bytes.
	for {
		if _, err := f.Write(chunk[:512]); err != nil {
			break
		}
	}
	return path
}

const fullDiskConfig = `
apis:
  - resources:
      cars:
        key: id
        fields:
          id: {type: integer}
          model: {type: string, required: true, maxLength: 4000}
          color: {type: string, sortable: true, filterable: true}
        collection: [GET, POST]
        item: [GET, PUT, PATCH, DELETE]
        history: true
    nouns:
      led:
        fields:
          state: {type: enum, values: ["on", "off"], default: "off"}
          brightness: {type: integer, min: 0, max: 100, default: 50}
        update: toggle state
artefacts: {path: /artefacts, min_free: 0}
`

// TestFullDisk runs a server whose data directory is on a small tmpfs that fills up
// (DESIGN §10): every write answers 2xx (it still fitted) or 507 with a problem
// body, never 500; reads keep working; a SIGTERM loses nothing acknowledged; a
// restart on the full disk starts and serves reads (migration writes nothing); and
// once space is freed, writes work again without a restart.
func TestFullDisk(t *testing.T) {
	disk := mountTmpfs(t, 24<<20)
	data := filepath.Join(disk, "data")
	cfg := writeConfig(t, fullDiskConfig)
	s := startServer(t, data, "--config", cfg)

	// Acknowledged before the disk fills: they must all survive.
	if r := s.do("PUT", "/artefacts/keep/a.bin", strings.Repeat("a", 200<<10)); r.Status != 201 {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	if r := s.do("PUT", "/artefacts/free/b.bin", strings.Repeat("b", 2<<20)); r.Status != 201 {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	cars := map[int]bool{} // acknowledged ids
	model := strings.Repeat("m", 3000)
	post := func(id int) *response {
		return s.do("POST", "/cars", fmt.Sprintf(`{"id":%d,"model":%q,"color":"red"}`, id, model))
	}
	for id := 1; id <= 20; id++ {
		if r := post(id); r.Status != 201 {
			t.Fatalf("POST before the disk filled: %d %s", r.Status, r.Body)
		}
		cars[id] = true
	}
	filler := fillDisk(t, disk)

	// expect checks one write's answer on the full disk: 2xx, or 507 as a problem.
	expect := func(what string, r *response) bool {
		t.Helper()
		switch {
		case r.Status >= 200 && r.Status < 300:
			return true
		case r.Status == 507:
			if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" || !strings.Contains(string(r.Body), `"status":507`) {
				t.Errorf("%s: 507 with %s %s", what, ct, r.Body)
			}
			return false
		}
		t.Errorf("%s on a full disk: %d %s, want 2xx or 507", what, r.Status, r.Body)
		return false
	}
	// Writes go on until the disk refuses one: SQLite may still fit a few in the WAL
	// it has already grown.
	full := false
	for id := 21; id <= 2000 && !full; id++ {
		if expect("POST /cars", post(id)) {
			cars[id] = true
		} else {
			full = true
		}
	}
	if !full {
		t.Fatal("2000 POSTs fitted on a full disk")
	}
	bulk := fmt.Sprintf(`[{"id":5001,"model":%q},{"id":5002,"model":%q}]`, model, model)
	if expect("bulk POST /cars", s.do("POST", "/cars", bulk)) {
		cars[5001], cars[5002] = true, true
	}
	led := s.do("PUT", "/led", `{"state":"on","brightness":7}`)
	ledOn := expect("PUT /led", led)
	expect("PATCH /cars/1", s.do("PATCH", "/cars/1", `{"color":"blue"}`))
	expect("upload", s.do("PUT", "/artefacts/keep/c.bin", strings.Repeat("c", 64<<10)))
	del := s.do("DELETE", "/artefacts/free/b.bin", "")
	freed := expect("DELETE /artefacts/free/b.bin", del)
	t.Logf("on the full disk: PUT /led %d, DELETE of an artefact %d", led.Status, del.Status)

	// Reads still work.
	if r := s.do("GET", "/cars/20", ""); r.Status != 200 {
		t.Errorf("GET on a full disk: %d %s", r.Status, r.Body)
	}
	if r := s.do("GET", "/artefacts/keep/a.bin", ""); r.Status != 200 || len(r.Body) != 200<<10 {
		t.Errorf("download on a full disk: %d, %d bytes", r.Status, len(r.Body))
	}

	// SIGTERM on the full disk, then a restart on it: it starts, serves reads, and
	// has everything that was acknowledged.
	s.stop()
	s = startServer(t, data, "--config", cfg)
	check := func() {
		t.Helper()
		for id := range cars {
			if r := s.do("GET", fmt.Sprintf("/cars/%d", id), ""); r.Status != 200 {
				t.Fatalf("acknowledged car %d after a restart on the full disk: %d %s", id, r.Status, r.Body)
			}
		}
		if r := s.do("GET", "/artefacts/keep/a.bin", ""); r.Status != 200 || len(r.Body) != 200<<10 {
			t.Fatalf("acknowledged upload after the restart: %d, %d bytes", r.Status, len(r.Body))
		}
		if want := map[bool]int{true: 404, false: 200}[freed]; s.do("GET", "/artefacts/free/b.bin", "").Status != want {
			t.Fatalf("the artefact deleted (%v) reads %d", freed, s.do("GET", "/artefacts/free/b.bin", "").Status)
		}
		if r := s.do("GET", "/led", ""); ledOn && !strings.Contains(string(r.Body), `"brightness":7`) {
			t.Fatalf("acknowledged PUT /led lost: %s", r.Body)
		}
	}
	check()
	expect("POST /cars after the restart", post(9001))

	// Space is freed: writes work again, on this same process.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if r := post(9002); r.Status != 201 {
		t.Fatalf("POST once space was freed: %d %s", r.Status, r.Body)
	}
	cars[9002] = true
	if r := s.do("PUT", "/led", `{"state":"on","brightness":9}`); r.Status != 200 {
		t.Fatalf("PUT /led once space was freed: %d %s", r.Status, r.Body)
	}
	if r := s.do("PUT", "/artefacts/keep/d.bin", "d"); r.Status != 201 {
		t.Fatalf("upload once space was freed: %d %s", r.Status, r.Body)
	}
	ledOn = false
	check()
	if body := string(s.do("GET", "/metrics", "").Body); strings.Contains(body, `status="500"`) {
		t.Errorf("a 500 was served:\n%s", grepLines(body, `status="500"`))
	}
}

// rawRequest sends req as written on a new connection and returns the status line's
// code and the whole response.
func rawRequest(t *testing.T, addr, req string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	_ = conn.(*net.TCPConn).CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestMalformedUploadBodies: an upload whose body cannot be read — malformed chunked
// framing, in a raw or a multipart body — is the client's fault: a 400 problem, nothing
// stored, and no count in restkit_blob_errors_total (which is for failures of the
// blob store itself, what an operator is paged for).
func TestMalformedUploadBodies(t *testing.T) {
	s := startServer(t, "")
	addr := strings.TrimPrefix(s.URL, "http://")
	for name, req := range map[string]string{
		"bad chunk size": "PUT /artefacts/d/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nhello",
		"bad chunk in a multipart body": "PUT /artefacts/d/x HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XX\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
			"3b\r\n--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\n\r\n5\r\nhello\r\nzz\r\n",
	} {
		status, body := rawRequest(t, addr, req)
		if status != 400 || !strings.Contains(body, `"status":400`) {
			t.Errorf("%s: %d %s, want a 400 problem", name, status, body)
		}
	}
	if r := s.do("GET", "/artefacts/d/x", ""); r.Status != 404 {
		t.Errorf("something was stored: %d", r.Status)
	}
	metrics := string(s.do("GET", "/metrics", "").Body)
	if lines := grepLines(metrics, "restkit_blob_errors_total{"); lines != "" {
		t.Errorf("malformed bodies counted as blob errors:\n%s", lines)
	}
	if strings.Contains(s.logs.String(), "level=ERROR") {
		t.Errorf("a malformed body logged an error:\n%s", grepLines(s.logs.String(), "level=ERROR"))
	}
}

// TestDataFilesArePrivate: everything serve keeps under --data — the database and its
// WAL, blobs, keys, the lock — is readable by the server's user only: files 0600 in
// directories 0700 (DESIGN §10), whatever the umask.
func TestDataFilesArePrivate(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	s := startServer(t, data)
	if r := s.do("POST", "/cars", `{"id":1,"model":"Golf","color":"red"}`); r.Status != 201 {
		t.Fatal(r.Status)
	}
	if r := s.do("PUT", "/artefacts/d/x.txt", "hello"); r.Status != 201 {
		t.Fatal(r.Status)
	}
	files := 0
	err := filepath.WalkDir(data, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		} else {
			files++
		}
		if perm := fi.Mode().Perm(); perm != want {
			rel, _ := filepath.Rel(data, path)
			t.Errorf("%s has mode %o, want %o", rel, perm, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 6 { // restkit.db, -wal, -shm, a blob, cursor.key, store.id, lock
		t.Fatalf("only %d files under the data directory", files)
	}
}
