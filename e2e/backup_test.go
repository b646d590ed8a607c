package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/restkit/restkit/internal/testenv"
	"github.com/restkit/restkit/postgres"
	"github.com/restkit/restkit/s3blob"
)

// ack is one write the server acknowledged.
type ack struct {
	car      int    // a car created (its id), or 0
	artefact string // an artefact pushed ("dir/id"), or ""
	deleted  bool   // the artefact was deleted
	content  string // what was pushed
}

// loadWriter is one of the writers TestBackupUnderLoad runs: it creates cars, pushes
// artefacts and deletes some of them again, recording each write the server
// acknowledged, in order, until stop is closed.
func loadWriter(url string, n int, stop <-chan struct{}, record func(ack), fail func(error)) {
	hc := &http.Client{Timeout: 60 * time.Second}
	send := func(method, path, ctype, body string, want int) bool {
		req, _ := http.NewRequest(method, url+path, strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := hc.Do(req)
		if err != nil {
			fail(fmt.Errorf("%s %s: %w", method, path, err))
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			fail(fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b))
			return false
		}
		return true
	}
	for j := 1; ; j++ {
		select {
		case <-stop:
			return
		default:
		}
		id := n*100000 + j
		if send("POST", "/cars", "application/json", fmt.Sprintf(`{"id":%d,"model":"w%d","color":"c%d"}`, id, n, j), 201) {
			record(ack{car: id})
		}
		if j%3 != 0 {
			continue
		}
		name := fmt.Sprintf("w%d/a%d.txt", n, j)
		content := fmt.Sprintf("writer %d, write %d: %s", n, j, strings.Repeat("x", j%97))
		if send("PUT", "/artefacts/"+name, "text/plain", content, 201) {
			record(ack{artefact: name, content: content})
		}
		if j%9 == 0 { // delete the artefact pushed three writes ago: its blob is freed at once
			old := fmt.Sprintf("w%d/a%d.txt", n, j-6)
			if send("DELETE", "/artefacts/"+old, "", "", 204) {
				record(ack{artefact: old, deleted: true})
			}
		}
	}
}

// TestBackupUnderLoad backs a data directory up while 20 writers create records,
// push artefacts and delete them, restores the backup into a new directory, serves
// it, and finds there every write acknowledged before the backup began: each car,
// each artefact with its content, and no artefact whose deletion was acknowledged.
func TestBackupUnderLoad(t *testing.T) {
	srv := startServer(t, "")
	var mu sync.Mutex
	var acks []ack
	var failures []error
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for n := 1; n <= 20; n++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loadWriter(srv.URL, n, stop,
				func(a ack) { mu.Lock(); acks = append(acks, a); mu.Unlock() },
				func(err error) { mu.Lock(); failures = append(failures, err); mu.Unlock() })
		}()
	}
	stopWriters := func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}
	defer stopWriters()
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acks) }
	waitFor(t, "300 acknowledged writes", func() bool { return count() >= 300 })

	mu.Lock()
	before := append([]ack(nil), acks...) // acknowledged before the backup began
	mu.Unlock()
	file := filepath.Join(t.TempDir(), "backup.tar")
	out, err := runCLI(t, nil, "backup", "--data", srv.Data, "-o", file)
	if err != nil {
		t.Fatalf("restkit backup: %v\n%s", err, out)
	}
	during := count() - len(before)
	stopWriters()
	if len(failures) > 0 {
		t.Fatalf("%d writes failed under load; the first: %v", len(failures), failures[0])
	}
	t.Logf("%d writes acknowledged before the backup, %d while it ran", len(before), during)
	if !strings.HasPrefix(out, "backed up "+srv.Data+" to "+file+": the database (") {
		t.Errorf("restkit backup said: %s", out)
	}

	restored := filepath.Join(t.TempDir(), "restored")
	if out, err := runCLI(t, nil, "restore", file, "--data", restored); err != nil || !strings.Contains(out, "every sum checked") {
		t.Fatalf("restkit restore: %v\n%s", err, out)
	}
	if out, err := runCLI(t, nil, "verify", "--data", restored); err != nil || !strings.Contains(out, ": all sound") {
		t.Fatalf("restkit verify of the restored directory: %v\n%s", err, out)
	}
	// An artefact written again once the backup began may be in either state.
	later := map[string]bool{}
	for _, a := range acks[len(before):] {
		later[a.artefact] = true
	}
	checkRestored(t, startServer(t, restored), before, later)
}

// checkRestored finds every acknowledged write in a restored server, but those to
// artefacts written again later.
func checkRestored(t *testing.T, rs *server, before []ack, later map[string]bool) {
	t.Helper()
	cars := map[int]bool{}
	for path := "/cars?limit=100"; path != ""; {
		r := rs.do("GET", path, "")
		if r.Status != 200 {
			t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
		}
		var page []struct{ ID int }
		if err := json.Unmarshal(r.Body, &page); err != nil {
			t.Fatal(err)
		}
		for _, c := range page {
			cars[c.ID] = true
		}
		path = nextLink(r.Header.Values("Link"))
	}
	latest := map[string]ack{} // each artefact's last acknowledged write before the backup
	for _, a := range before {
		switch {
		case a.car != 0 && !cars[a.car]:
			t.Errorf("car %d, acknowledged before the backup, is not in the restored directory", a.car)
		case a.artefact != "" && !later[a.artefact]:
			latest[a.artefact] = a
		}
	}
	for name, a := range latest {
		r := rs.do("GET", "/artefacts/"+name, "")
		switch {
		case a.deleted && r.Status != 404:
			t.Errorf("artefact %s, deleted before the backup, answers %d", name, r.Status)
		case !a.deleted && (r.Status != 200 || !bytes.Equal(r.Body, []byte(a.content))):
			t.Errorf("artefact %s: %d %q, want 200 %q", name, r.Status, r.Body, a.content)
		}
	}
	t.Logf("found %d cars and %d artefacts of the %d writes acknowledged before the backup", len(cars), len(latest), len(before))
}

// nextLink is the path of a Link header's rel="next", or "".
func nextLink(links []string) string {
	for _, l := range links {
		for _, part := range strings.Split(l, ", ") {
			if target, ok := strings.CutSuffix(part, `>; rel="next"`); ok {
				return strings.TrimPrefix(target, "<")
			}
		}
	}
	return ""
}

// TestBackupRefusals: a target that cannot be written, a data directory without a
// database and a truncated archive get precise answers and change nothing.
func TestBackupRefusals(t *testing.T) {
	srv := startServer(t, "")
	dir := t.TempDir()
	blocker := filepath.Join(dir, "a-file")
	if err := os.WriteFile(blocker, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.tar")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"backup", "--data", srv.Data, "-o", filepath.Join(blocker, "b.tar")},
			"restkit: cannot write the backup to " + filepath.Join(blocker, "b.tar") + ": not a directory\n"},
		{[]string{"backup", "--data", srv.Data, "-o", blocker},
			"restkit: " + blocker + " exists: restkit backup never overwrites a file; remove it or choose another -o\n"},
		{[]string{"backup", "--data", dir, "-o", good},
			"restkit: " + dir + " holds no restkit database (restkit.db): nothing to back up\n"},
		{[]string{"restore", blocker}, "restkit: restore needs --data NEWDIR: the new or empty directory to restore into\n"},
		{[]string{"restore", blocker, "--data", filepath.Join(dir, "new")},
			"restkit: the backup was not restored: it is not a tar archive (unexpected EOF); nothing was written to " + filepath.Join(dir, "new") + "\n"},
	} {
		out, err := runCLI(t, nil, tc.args...)
		if err == nil || out != tc.want {
			t.Errorf("restkit %s: %v\n%s\nwant\n%s", strings.Join(tc.args, " "), err, out, tc.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the refusals left %d entries in %s, want only a-file", len(entries), dir)
	}
	if out, err := runCLI(t, nil, "backup", "--data", srv.Data, "-o", good); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.tar")
	os.WriteFile(cut, raw[:len(raw)/2], 0o600)
	target := filepath.Join(dir, "restored")
	out, err := runCLI(t, nil, "restore", cut, "--data", target)
	if err == nil || !strings.HasPrefix(out, "restkit: the backup was not restored: it is truncated: ") {
		t.Errorf("restore of a truncated backup: %v\n%s", err, out)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Errorf("a refused restore left %s behind", target)
	}
}

// TestVerifyPostgresS3: restkit verify on a PostgreSQL + S3 deployment, beside a
// live node, reports a blob removed from the bucket and one replaced with other
// bytes, and exits 1; on sound blobs it exits 0.
func TestVerifyPostgresS3(t *testing.T) {
	pg, s3url := testenv.Postgres(t), testenv.S3(t)
	schemaURL, drop, err := postgres.NewTestSchema(context.Background(), pg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = drop(context.Background()) })
	base, query, _ := strings.Cut(s3url, "?")
	s3url = base + "/verify-" + randomHex(6) + "?" + query
	node := startServer(t, "", "--postgres", schemaURL, "--s3", s3url)
	for _, c := range []string{"alpha", "beta", "gamma"} {
		if r := node.do("PUT", "/artefacts/v/"+c, c, "Content-Type", "text/plain"); r.Status != 201 {
			t.Fatalf("PUT %s: %d %s", c, r.Status, r.Body)
		}
	}
	args := []string{"verify", "--postgres", schemaURL, "--s3", s3url}
	if out, err := runCLI(t, nil, args...); err != nil || out != "verified 3 blobs (14 B): all sound\n" {
		t.Fatalf("restkit verify of sound blobs: %v\n%s", err, out)
	}

	cfg, err := s3blob.ParseURL(s3url)
	if err != nil {
		t.Fatal(err)
	}
	mc, err := minio.New(cfg.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""), Secure: cfg.Secure, Region: cfg.Region})
	if err != nil {
		t.Fatal(err)
	}
	key := func(content string) string {
		d := sha([]byte(content))
		return cfg.Prefix + "/blobs/" + d[:2] + "/" + d[2:4] + "/" + d
	}
	if err := mc.RemoveObject(context.Background(), cfg.Bucket, key("beta"), minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := mc.PutObject(context.Background(), cfg.Bucket, key("alpha"), strings.NewReader("alphA"), 5, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, nil, args...)
	want := "corrupt  " + sha([]byte("alpha")) + "  (5 bytes: its content has sha256 " + sha([]byte("alphA")) + ", 5 bytes)\n" +
		"missing  " + sha([]byte("beta")) + "  (4 bytes)\n" +
		"verified 3 blobs (14 B): 1 missing, 1 corrupt\n"
	if sha([]byte("alpha")) > sha([]byte("beta")) {
		t.Fatal("the expectation assumes alpha's digest sorts before beta's")
	}
	if err == nil || out != want {
		t.Errorf("restkit verify: %v\n%s\nwant\n%s", err, out, want)
	}
}

// TestBackupFromServer: restkit backup --server saves the backup a server writes of
// its own data directory (GET /_admin/backup, loopback without auth); it restores
// and verifies like one made with --data.
func TestBackupFromServer(t *testing.T) {
	srv := startServer(t, "")
	if r := srv.do("PUT", "/artefacts/docs/a.txt", "alpha", "Content-Type", "text/plain"); r.Status != 201 {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	if r := srv.do("POST", "/cars", `{"id":1,"model":"T","color":"black"}`); r.Status != 201 {
		t.Fatalf("POST: %d %s", r.Status, r.Body)
	}
	file := filepath.Join(t.TempDir(), "remote.tar")
	out, err := runCLI(t, nil, "backup", "--server", srv.URL, "-o", file)
	if err != nil || !strings.HasPrefix(out, "backed up "+srv.URL+" to "+file+": ") {
		t.Fatalf("restkit backup --server: %v\n%s", err, out)
	}
	restored := filepath.Join(t.TempDir(), "restored")
	if out, err := runCLI(t, nil, "restore", file, "--data", restored); err != nil || !strings.Contains(out, "and 1 blob (5 B), every sum checked") {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	rs := startServer(t, restored)
	rs.run(t, []step{
		{method: "GET", path: "/cars/1", status: 200, wantJSON: `{"id":1,"model":"T","color":"black"}`},
		{method: "GET", path: "/artefacts/docs/a.txt", status: 200, wantIn: []string{"alpha"}},
	})
	if out, err := runCLI(t, nil, "backup", "--server", srv.URL, "--data", srv.Data, "-o", file+"2"); err == nil || out != "restkit: --data and --server name two places to back up: give one\n" {
		t.Errorf("both --data and --server: %v\n%s", err, out)
	}
}
