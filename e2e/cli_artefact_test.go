package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The artefact client commands (push, pull, ls, versions, rm) run as the real binary
// against a real server. Nothing here is a terminal, so no progress bar is drawn
// and listings are JSON lines: stdout carries only data, which lets the tests
// compare pulled bytes with the combined output of runCLI.

// cliMeta is an artefact version's metadata as push, ls DIR and versions print it.
type cliMeta struct {
	Directory   string `json:"directory"`
	ID          string `json:"id"`
	Version     int64  `json:"version"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	ContentType string `json:"content_type"`
	Created     string `json:"created"`
	Updated     string `json:"updated"`
}

// cliDir is a directory as ls prints it.
type cliDir struct {
	Name      string `json:"name"`
	Artefacts int64  `json:"artefacts"`
	Size      int64  `json:"size"`
	Updated   string `json:"updated"`
}

// artefactCLI runs the client commands against one server.
type artefactCLI struct {
	t   *testing.T
	url string
}

func (c artefactCLI) run(args ...string) (string, error) {
	c.t.Helper()
	return runCLI(c.t, nil, append([]string{"--server", c.url}, args...)...)
}

// ok runs a command that must succeed.
func (c artefactCLI) ok(args ...string) string {
	c.t.Helper()
	out, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("restkit %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// fails runs a command that must exit with status 1 and print `restkit: <msg>`
// containing want.
func (c artefactCLI) fails(want string, args ...string) string {
	c.t.Helper()
	out, err := c.run(args...)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		c.t.Fatalf("restkit %s: err = %v, want exit status 1\n%s", strings.Join(args, " "), err, out)
	}
	if !strings.HasPrefix(out, "restkit: ") || !strings.Contains(out, want) {
		c.t.Fatalf("restkit %s: output %q, want `restkit: …%s…`", strings.Join(args, " "), out, want)
	}
	return out
}

// cliJSONLines decodes one JSON value per line into a slice of T.
func cliJSONLines[T any](t *testing.T, out string) []T {
	t.Helper()
	var vs []T
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var v T
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("not JSON lines: %v\n%s", err, out)
		}
		vs = append(vs, v)
	}
	return vs
}

func cliSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// cliRandomBytes returns n bytes that do not compress and differ by seed.
func cliRandomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func cliWriteFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func cliReadFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func cliNoFile(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s exists (err %v), want none", filepath.Base(p), err)
		}
	}
}

func TestCLIArtefactsFlow(t *testing.T) {
	s := startServer(t, "")
	cli := artefactCLI{t: t, url: s.URL}
	tmp := t.TempDir()
	v1 := cliRandomBytes(300<<10+7, 1) // several reads' worth, odd size
	v2 := cliRandomBytes(200<<10+3, 2)
	f1, f2 := filepath.Join(tmp, "v1.bin"), filepath.Join(tmp, "v2.bin")
	cliWriteFile(t, f1, v1)
	cliWriteFile(t, f2, v2)

	// push prints the stored version's metadata.
	var m cliMeta
	out := cli.ok("push", "releases/app.bin", f1, "--content-type", "application/octet-stream")
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("push printed %q: %v", out, err)
	}
	if m.Directory != "releases" || m.ID != "app.bin" || m.Version != 1 || m.Size != int64(len(v1)) ||
		m.SHA256 != cliSHA256(v1) || m.ContentType != "application/octet-stream" || m.Created == "" || m.Updated == "" {
		t.Fatalf("push: %+v", m)
	}
	cli.ok("push", "releases/notes.txt", cliWriteTemp(t, tmp, "notes.txt", "release notes\n"))

	// Pushing again without --replace is refused; --create-only too.
	cli.fails("exists", "push", "releases/app.bin", f2)
	cli.fails("", "push", "--create-only", "releases/app.bin", f2)

	// ls: the directories; ls DIR: the latest version of each artefact.
	dirs := cliJSONLines[cliDir](t, cli.ok("ls"))
	if len(dirs) != 1 || dirs[0].Name != "releases" || dirs[0].Artefacts != 2 || dirs[0].Size != int64(len(v1))+14 || dirs[0].Updated == "" {
		t.Fatalf("ls: %+v", dirs)
	}
	arts := cliJSONLines[cliMeta](t, cli.ok("ls", "releases"))
	if len(arts) != 2 || arts[0].ID != "app.bin" || arts[0].SHA256 != cliSHA256(v1) || arts[1].ID != "notes.txt" {
		t.Fatalf("ls releases: %+v", arts)
	}
	if arts := cliJSONLines[cliMeta](t, cli.ok("ls", "releases", "--prefix", "notes")); len(arts) != 1 || arts[0].ID != "notes.txt" {
		t.Fatalf("ls --prefix notes: %+v", arts)
	}

	// --replace stores version 2; versions lists both, newest first.
	out = cli.ok("push", "--replace", "releases/app.bin", f2)
	if err := json.Unmarshal([]byte(out), &m); err != nil || m.Version != 2 || m.SHA256 != cliSHA256(v2) {
		t.Fatalf("push --replace: %q", out)
	}
	vs := cliJSONLines[cliMeta](t, cli.ok("versions", "releases/app.bin"))
	if len(vs) != 2 || vs[0].Version != 2 || vs[0].SHA256 != cliSHA256(v2) || vs[1].Version != 1 || vs[1].SHA256 != cliSHA256(v1) {
		t.Fatalf("versions: %+v", vs)
	}
	// --if-match guards a replace.
	cli.fails("changed", "push", "--if-match", cliSHA256(v1), "releases/app.bin", f1)

	// pull: to stdout and to a file, the latest or a version.
	if out := cli.ok("pull", "releases/app.bin"); out != string(v2) {
		t.Fatalf("pull to stdout: %d bytes, want %d", len(out), len(v2))
	}
	if out := cli.ok("pull", "releases/app.bin", "--version", "1"); out != string(v1) {
		t.Fatalf("pull --version 1 to stdout: %d bytes, want %d", len(out), len(v1))
	}
	got := filepath.Join(tmp, "got.bin")
	if out := cli.ok("pull", "releases/app.bin", "-o", got); out != "" {
		t.Fatalf("pull -o printed %q", out)
	}
	if !bytes.Equal(cliReadFile(t, got), v2) {
		t.Fatal("pull -o: the file differs")
	}
	cliNoFile(t, got+".part")
	got1 := filepath.Join(tmp, "got1.bin")
	cli.ok("pull", "releases/app.bin", "--version", "1", "-o", got1)
	if !bytes.Equal(cliReadFile(t, got1), v1) {
		t.Fatal("pull --version 1 -o: the file differs")
	}

	// rm --version deletes one version; rm DIR/ID the artefact; rm DIR the directory.
	cli.ok("rm", "releases/app.bin", "--version", "1")
	if vs := cliJSONLines[cliMeta](t, cli.ok("versions", "releases/app.bin")); len(vs) != 1 || vs[0].Version != 2 {
		t.Fatalf("versions after rm --version 1: %+v", vs)
	}
	cli.fails("", "pull", "releases/app.bin", "--version", "1")
	cli.ok("rm", "releases/app.bin")
	cli.fails("", "versions", "releases/app.bin")
	if arts := cliJSONLines[cliMeta](t, cli.ok("ls", "releases")); len(arts) != 1 || arts[0].ID != "notes.txt" {
		t.Fatalf("ls releases after rm: %+v", arts)
	}
	cli.ok("rm", "releases")
	if out := cli.ok("ls"); strings.TrimSpace(out) != "" {
		t.Fatalf("ls after rm releases: %q", out)
	}
	cli.fails("", "ls", "releases")
}

// cliWriteTemp writes content to dir/name and returns the path.
func cliWriteTemp(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	cliWriteFile(t, p, []byte(content))
	return p
}

func TestCLIPullResumes(t *testing.T) {
	s := startServer(t, "")
	cli := artefactCLI{t: t, url: s.URL}
	tmp := t.TempDir()
	content := cliRandomBytes(512<<10+11, 3)
	cli.ok("push", "big/blob.bin", cliWriteTemp(t, tmp, "blob.bin", string(content)))

	// Half of it is already there from an interrupted pull (with the record of which
	// content it is a prefix of): the rest completes it.
	out := filepath.Join(tmp, "out.bin")
	cliWriteFile(t, out+".part", content[:len(content)/2])
	cliWriteFile(t, out+".part.sha256", []byte(sha(content)+"\n"))
	cli.ok("pull", "big/blob.bin", "-o", out)
	if !bytes.Equal(cliReadFile(t, out), content) {
		t.Fatal("resumed pull: the file differs")
	}
	cliNoFile(t, out+".part", out+".part.sha256")

	// The pull only asked for the rest: a .part whose start is not the content's
	// start makes a whole file with the wrong digest, which is refused and dropped.
	bad := filepath.Join(tmp, "bad.bin")
	wrong := bytes.Clone(content[:len(content)/2])
	wrong[0] ^= 0xff
	cliWriteFile(t, bad+".part", wrong)
	cliWriteFile(t, bad+".part.sha256", []byte(sha(content)+"\n"))
	cli.fails("SHA-256", "pull", "big/blob.bin", "-o", bad)
	cliNoFile(t, bad, bad+".part", bad+".part.sha256")
	// … and the next pull starts over.
	cli.ok("pull", "big/blob.bin", "-o", bad)
	if !bytes.Equal(cliReadFile(t, bad), content) {
		t.Fatal("pull after a refused resume: the file differs")
	}

	// The artefact changed since the interrupted pull: If-Range carries the digest the
	// part came from, so the server sends the whole new content instead of its tail.
	changed := filepath.Join(tmp, "changed.bin")
	cliWriteFile(t, changed+".part", content[:len(content)/2])
	cliWriteFile(t, changed+".part.sha256", []byte(sha(content)+"\n"))
	v2 := cliRandomBytes(len(content), 9)
	cli.ok("push", "--replace", "big/blob.bin", cliWriteTemp(t, tmp, "v2.bin", string(v2)))
	cli.ok("pull", "big/blob.bin", "-o", changed)
	if !bytes.Equal(cliReadFile(t, changed), v2) {
		t.Fatal("pull after the artefact changed: the file is not the new content")
	}
	cliNoFile(t, changed+".part", changed+".part.sha256")
	cli.ok("push", "--replace", "big/blob.bin", cliWriteTemp(t, tmp, "v1.bin", string(content)))

	// A part with no record of its source is not trusted: the pull starts over.
	norecord := filepath.Join(tmp, "norecord.bin")
	cliWriteFile(t, norecord+".part", wrong)
	cli.ok("pull", "big/blob.bin", "-o", norecord)
	if !bytes.Equal(cliReadFile(t, norecord), content) {
		t.Fatal("pull over an unrecorded part: the file differs")
	}

	// A .part that already holds everything (the pull stopped before the rename).
	whole := filepath.Join(tmp, "whole.bin")
	cliWriteFile(t, whole+".part", content)
	cli.ok("pull", "big/blob.bin", "-o", whole)
	if !bytes.Equal(cliReadFile(t, whole), content) {
		t.Fatal("pull of a complete .part: the file differs")
	}
	cliNoFile(t, whole+".part")

	// A .part longer than the content is not a prefix of it: start over.
	long := filepath.Join(tmp, "long.bin")
	cliWriteFile(t, long+".part", append(bytes.Clone(content), 1, 2, 3))
	cli.ok("pull", "big/blob.bin", "-o", long)
	if !bytes.Equal(cliReadFile(t, long), content) {
		t.Fatal("pull over a too long .part: the file differs")
	}
	cliNoFile(t, long+".part")

	// A missing artefact: a failure that leaves no file and no .part, even when a
	// .part was there.
	missing := filepath.Join(tmp, "missing.bin")
	cli.fails("", "pull", "big/nothing.bin", "-o", missing)
	cliNoFile(t, missing, missing+".part")
	cliWriteFile(t, missing+".part", content[:100])
	cli.fails("", "pull", "big/nothing.bin", "-o", missing)
	cliNoFile(t, missing, missing+".part")
	cli.fails("", "pull", "big/nothing.bin")

	// The server cannot be reached: an interrupted pull keeps its .part.
	down := artefactCLI{t: t, url: "http://" + freeAddr(t)}
	kept := filepath.Join(tmp, "kept.bin")
	cliWriteFile(t, kept+".part", content[:100])
	down.fails("", "pull", "big/blob.bin", "-o", kept)
	if got := cliReadFile(t, kept+".part"); !bytes.Equal(got, content[:100]) {
		t.Fatalf("the .part changed: %d bytes", len(got))
	}
	cliNoFile(t, kept)
	// … and resumes once it can.
	cli.ok("pull", "big/blob.bin", "-o", kept)
	if !bytes.Equal(cliReadFile(t, kept), content) {
		t.Fatal("pull after an interruption: the file differs")
	}
}

func TestCLIServerAndErrors(t *testing.T) {
	s := startServer(t, "")
	tmp := t.TempDir()
	file := cliWriteTemp(t, tmp, "a.txt", "hello")

	// RESTKIT_SERVER names the server; --server beats it.
	out, err := runCLI(t, []string{"RESTKIT_SERVER=" + s.URL}, "push", "docs/a.txt", file)
	if err != nil || !strings.Contains(out, `"sha256": "`+cliSHA256([]byte("hello"))+`"`) {
		t.Fatalf("push with RESTKIT_SERVER: %v\n%s", err, out)
	}
	out, err = runCLI(t, []string{"RESTKIT_SERVER=http://" + freeAddr(t)}, "--server", s.URL, "ls")
	if err != nil || !strings.Contains(out, `"name":"docs"`) {
		t.Fatalf("--server over RESTKIT_SERVER: %v\n%s", err, out)
	}
	out, err = runCLI(t, []string{"RESTKIT_SERVER=http://" + freeAddr(t)}, "ls")
	if err == nil || !strings.HasPrefix(out, "restkit: ") {
		t.Fatalf("ls against a closed port: %v\n%s", err, out)
	}
	// The default server is 127.0.0.1:8080; a test cannot own that port, so only
	// check that --help says it.
	out, _ = runCLI(t, nil, "ls", "--help")
	if !strings.Contains(out, "http://127.0.0.1:8080") || !strings.Contains(out, "RESTKIT_SERVER") || !strings.Contains(out, "JSON lines") {
		t.Fatalf("ls --help:\n%s", out)
	}

	cli := artefactCLI{t: t, url: s.URL}
	// DIR/ID: names separated by single slashes (DIR may nest); rm also takes a bare DIR.
	for _, args := range [][]string{
		{"push", "docs", file}, {"push", "docs//b", file}, {"push", "/a", file}, {"push", "docs/", file},
		{"push", "a/b/c/d/e/f/g/h/i/x", file}, // 9 directory segments: the server refuses it
		{"pull", "docs"}, {"versions", "docs"}, {"rm", "docs/a/b"}, {"rm", "docs", "--version", "1"},
	} {
		cli.fails("", args...)
	}
	cli.fails("no such file", "push", "docs/b.txt", filepath.Join(tmp, "absent"))
	// A name the server refuses: its message, and one line per failing field.
	out = cli.fails("", "push", "docs/bad\x01name", file)
	if strings.Contains(out, "internal") {
		t.Fatalf("a bad name: %s", out)
	}
	cli.fails("", "rm", "nothing")
}

// ls DIR lists every artefact, past the server's page size (20), by following
// the Link rel="next" of each page.
func TestCLILsFollowsPages(t *testing.T) {
	s := startServer(t, "")
	cli := artefactCLI{t: t, url: s.URL}
	tmp := t.TempDir()
	const n = 23
	var want []string
	for i := range n {
		id := fmt.Sprintf("item-%02d", i)
		cli.ok("push", "many/"+id, cliWriteTemp(t, tmp, id, strings.Repeat("x", i+1)))
		want = append(want, id)
	}
	ids := func(out string) string {
		var got []string
		for _, m := range cliJSONLines[cliMeta](t, out) {
			got = append(got, m.ID)
		}
		return strings.Join(got, ",")
	}
	if got := ids(cli.ok("ls", "many")); got != strings.Join(want, ",") {
		t.Fatalf("ls many:\n%s\nwant\n%s", got, strings.Join(want, ","))
	}
	slices.Reverse(want)
	if got := ids(cli.ok("ls", "many", "--sort", "-size")); got != strings.Join(want, ",") {
		t.Fatalf("ls many --sort -size:\n%s\nwant\n%s", got, strings.Join(want, ","))
	}
	if got := ids(cli.ok("ls", "many", "--prefix", "item-1")); got != "item-10,item-11,item-12,item-13,item-14,item-15,item-16,item-17,item-18,item-19" {
		t.Fatalf("ls many --prefix item-1: %s", got)
	}
	// A table when asked, with a header and one row per artefact.
	out := cli.ok("ls", "many", "--format", "table")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != n+1 || !strings.HasPrefix(lines[0], "ID") || !strings.HasPrefix(lines[1], "item-00 ") {
		t.Fatalf("ls many --format table:\n%s", out)
	}
	cli.fails("sort", "ls", "many", "--sort", "colour")
}
