package httpapi

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/artefact"
	"github.com/restkit/restkit/auth"
	"github.com/restkit/restkit/fsblob"
	"github.com/restkit/restkit/sqlite"
)

// Keys of repoServer's callers when it runs with auth: ci may do everything; team
// may read and write team/** only; reader may read everything.
const (
	ciKey     = "rk_ci-test-key"
	teamKey   = "rk_team-test-key"
	readerKey = "rk_reader-test-key"
)

// repoServer serves an artefact repository (SQLite and files in a temp dir) with
// the policy, optionally with auth, on the clock.
func repoServer(t *testing.T, pol artefact.Policy, withAuth bool, clk *clock) (*Server, *artefact.Repository) {
	t.Helper()
	dir := t.TempDir()
	meta, err := sqlite.Open(filepath.Join(dir, "restkit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	sc := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{{
		Name: "notes", Key: "id", Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}}}}}}}
	var art *auth.Artefacts
	if withAuth {
		key := func(id, k string, roles ...string) *restkit.APIKey {
			sum := sha256.Sum256([]byte(k))
			return &restkit.APIKey{ID: id, SHA256: hex.EncodeToString(sum[:]), User: id, Roles: roles}
		}
		var users []*restkit.User
		for _, u := range []string{"ci", "team", "reader"} {
			hash, err := auth.HashPassword(u+"-secret", 4)
			if err != nil {
				t.Fatal(err)
			}
			users = append(users, &restkit.User{Name: u, PasswordHash: hash})
		}
		sc.Auth = &restkit.Auth{BcryptCost: 4, Users: users, Keys: []*restkit.APIKey{key("ci", ciKey, "ci"), key("team", teamKey, "team"), key("reader", readerKey, "reader")},
			Access: restkit.Access{Read: []string{"ci", "reader"}, Write: []string{"ci"}}}
		art = &auth.Artefacts{Directories: []auth.DirectoryAccess{{Pattern: "team/**", Access: restkit.Access{Read: []string{"ci", "team"}, Write: []string{"ci", "team"}}}}}
	}
	if err := sc.Prepare(); err != nil {
		t.Fatal(err, restkit.ErrorFields(err))
	}
	if err := meta.Migrate(context.Background(), sc); err != nil {
		t.Fatal(err)
	}
	blobs, err := fsblob.Open(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	if clk == nil {
		clk = newClock()
	}
	repo := artefact.New(artefact.Options{Blobs: blobs, Meta: meta, Policy: pol, Now: clk.Now})
	opts := Options{Schema: sc, Store: meta, Artefacts: repo, Now: clk.Now}
	if withAuth {
		if opts.Auth, err = auth.New(sc, art); err != nil {
			t.Fatal(err)
		}
	}
	return mustNew(t, opts), repo
}

// step is one request of a scenario and what its answer must be.
type step struct {
	method, path string
	headers      []string // name, value, …
	body         string
	status       int
	wantHeader   []string // name, value, …: each must be exactly so
	wantBody     string   // the whole body, when set
	contains     []string // substrings of the body
}

func runSteps(t *testing.T, h http.Handler, steps []step) {
	t.Helper()
	for i, s := range steps {
		r := httptest.NewRequest(s.method, s.path, strings.NewReader(s.body))
		if s.body == "" {
			r.Body, r.ContentLength = http.NoBody, 0
		}
		r.RemoteAddr = "127.0.0.1:1234"
		for j := 0; j+1 < len(s.headers); j += 2 {
			r.Header.Add(s.headers[j], s.headers[j+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		where := func() string { return s.method + " " + s.path + " (step " + strconv.Itoa(i) + ")" }
		if w.Code != s.status {
			t.Fatalf("%s: %d %s, want %d", where(), w.Code, w.Body, s.status)
		}
		for j := 0; j+1 < len(s.wantHeader); j += 2 {
			if got := w.Header().Get(s.wantHeader[j]); got != s.wantHeader[j+1] {
				t.Fatalf("%s: %s is %q, want %q", where(), s.wantHeader[j], got, s.wantHeader[j+1])
			}
		}
		if s.wantBody != "" && w.Body.String() != s.wantBody {
			t.Fatalf("%s: body\n%s\nwant\n%s", where(), w.Body, s.wantBody)
		}
		for _, c := range s.contains {
			if !strings.Contains(w.Body.String(), c) {
				t.Fatalf("%s: body %s lacks %q", where(), w.Body, c)
			}
		}
	}
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestNestedPaths: directories nest up to 8 segments; listings show subdirectories
// then artefacts, in JSON, XML or CSV (406 otherwise); a path is an artefact or a
// directory, never both; bad paths are precise 400s that store nothing; deleting a
// directory deletes its subtree.
func TestNestedPaths(t *testing.T) {
	h, _ := repoServer(t, artefact.Policy{}, false, nil)
	deep := "/artefacts/a/b/c/d/e/f/g/h"
	runSteps(t, h, []step{
		{method: "PUT", path: "/artefacts/org/app/1.2.0/app.tar.gz", body: "hello", headers: []string{"Content-Type", "application/gzip"},
			status: 201, wantHeader: []string{"Location", "/artefacts/org/app/1.2.0/app.tar.gz"}, contains: []string{`"directory":"org/app/1.2.0","id":"app.tar.gz"`}},
		{method: "PUT", path: "/artefacts/org/app/1.3.0/app.tar.gz", body: "hello 1.3", status: 201},
		{method: "PUT", path: "/artefacts/org/README", body: "read me", status: 201},
		{method: "GET", path: "/artefacts/org/app/1.2.0/app.tar.gz", status: 200, wantBody: "hello", wantHeader: []string{"X-Artefact-Version", "1"}},
		{method: "GET", path: "/artefacts/org", status: 200, wantHeader: []string{"Vary", "Accept"},
			contains: []string{`[{"type":"directory","name":"app","path":"org/app"},{"type":"file","directory":"org","id":"README"`}},
		{method: "GET", path: "/artefacts/org/app", status: 200,
			wantBody: `[{"type":"directory","name":"1.2.0","path":"org/app/1.2.0"},{"type":"directory","name":"1.3.0","path":"org/app/1.3.0"}]` + "\n"},
		{method: "GET", path: "/artefacts/org/app?limit=1", status: 200, contains: []string{`"name":"1.2.0"`}},
		{method: "GET", path: "/artefacts", status: 200, contains: []string{`[{"name":"org","artefacts":3,"size":21,`}},
		{method: "GET", path: "/artefacts/org/app", headers: []string{"Accept", "text/csv"}, status: 200,
			wantBody: "type,name,path,directory,id,version,size,sha256,content_type,filename,created,updated\ndirectory,1.2.0,org/app/1.2.0,,,,,,,,,\ndirectory,1.3.0,org/app/1.3.0,,,,,,,,,\n"},
		{method: "GET", path: "/artefacts/org/app", headers: []string{"Accept", "application/xml"}, status: 200,
			contains: []string{`<listing><directory><type>directory</type><name>1.2.0</name><path>org/app/1.2.0</path></directory>`}},
		{method: "GET", path: "/artefacts/org/app", headers: []string{"Accept", "image/png"}, status: 406},
		{method: "GET", path: "/artefacts/org/app/1.2.0/app.tar.gz/versions", headers: []string{"Accept", "text/csv"}, status: 200,
			contains: []string{"file,app.tar.gz,org/app/1.2.0/app.tar.gz,org/app/1.2.0,app.tar.gz,1,5," + sha("hello")}},
		// A path is an artefact or a directory, never both.
		{method: "PUT", path: "/artefacts/org/app", body: "x", status: 409, contains: []string{`"detail":"org/app is a directory: an artefact cannot have its path"`}},
		{method: "PUT", path: "/artefacts/org/README/x", body: "x", status: 409, contains: []string{`"detail":"org/README is an artefact: it cannot hold a directory"`}},
		// Bad paths: precise 400s, nothing stored.
		{method: "PUT", path: deep + "/i/x", body: "x", status: 400, contains: []string{`a directory has at most 8 segments, then the artefact's name`}},
		{method: "PUT", path: deep + "/x", body: "x", status: 201},
		{method: "PUT", path: "/artefacts/a//b", body: "x", status: 400},
		{method: "PUT", path: "/artefacts/org/versions", body: "x", status: 400, contains: []string{"artefact name must not be versions, properties or events"}},
		{method: "PUT", path: "/artefacts/org/x/events", body: "x", status: 400, contains: []string{"artefact name must not be versions, properties or events"}},
		{method: "POST", path: "/artefacts/org/x/properties", body: "x", status: 400, contains: []string{"must not be versions, properties or events"}},
		{method: "PUT", path: "/artefacts/org/%2e%2e%2Fx/y", body: "x", status: 400},
		{method: "GET", path: "/artefacts/org/x", status: 404},
		{method: "GET", path: "/artefacts/org/x?version=1", status: 404, contains: []string{`"detail":"no artefact org/x"`}},
		{method: "DELETE", path: "/artefacts/org/x?version=1", status: 404, contains: []string{`"detail":"no artefact org/x"`}},
		// Deleting a directory deletes everything below it, and nothing beside it.
		{method: "PUT", path: "/artefacts/org-two/x", body: "beside", status: 201},
		{method: "DELETE", path: "/artefacts/org/app", status: 204},
		{method: "GET", path: "/artefacts/org/app/1.3.0/app.tar.gz", status: 404},
		{method: "GET", path: "/artefacts/org", status: 200, contains: []string{`[{"type":"file","directory":"org","id":"README"`}},
		{method: "DELETE", path: "/artefacts/org", status: 204},
		{method: "GET", path: "/artefacts/org", status: 404},
		{method: "GET", path: "/artefacts/org-two/x", status: 200, wantBody: "beside"},
	})
}

// TestDeployByChecksum: X-Checksum-Deploy with X-Checksum-Sha256 and no body makes a
// version of stored content; unknown content, or content only in directories the
// caller cannot read, is a 404 that says nothing more.
func TestDeployByChecksum(t *testing.T) {
	h, _ := repoServer(t, artefact.Policy{}, true, nil)
	ci, team := "Bearer "+ciKey, "Bearer "+teamKey
	deploy := func(auth, sum string) []string {
		return []string{"Authorization", auth, "X-Checksum-Deploy", "true", "X-Checksum-Sha256", sum}
	}
	unknown := `"detail":"no content with sha256 ` + sha("secret bytes") + ` is known here: upload the bytes"`
	runSteps(t, h, []step{
		{method: "PUT", path: "/artefacts/private/s.bin", body: "secret bytes", headers: []string{"Authorization", ci}, status: 201},
		{method: "PUT", path: "/artefacts/team/a/one.txt", body: "team bytes", headers: []string{"Authorization", team}, status: 201},
		// Content the caller may read: a new artefact (201), then a new version (200).
		{method: "PUT", path: "/artefacts/team/b/two.txt", headers: deploy(team, sha("team bytes")), status: 201,
			contains: []string{`"directory":"team/b","id":"two.txt","version":1,"size":10,"sha256":"` + sha("team bytes") + `","content_type":"text/plain; charset=utf-8"`}},
		{method: "PUT", path: "/artefacts/team/b/two.txt", headers: deploy(team, sha("team bytes")), status: 200, wantHeader: []string{"X-Artefact-Version", "2"}},
		{method: "GET", path: "/artefacts/team/b/two.txt", headers: []string{"Authorization", team}, status: 200, wantBody: "team bytes"},
		// Content that exists, but only where team cannot read: the same 404 as unknown content.
		{method: "PUT", path: "/artefacts/team/b/s.bin", headers: deploy(team, sha("secret bytes")), status: 404, contains: []string{unknown}},
		{method: "PUT", path: "/artefacts/team/b/none", headers: deploy(team, sha("never stored")), status: 404},
		{method: "GET", path: "/artefacts/team/b/s.bin", headers: []string{"Authorization", team}, status: 404},
		// ci may read it: deployed.
		{method: "POST", path: "/artefacts/rel/s.bin", headers: deploy(ci, sha("secret bytes")), status: 201},
		{method: "POST", path: "/artefacts/rel/s.bin", headers: deploy(ci, sha("secret bytes")), status: 409},
		// Malformed deploys store nothing.
		{method: "PUT", path: "/artefacts/rel/x", headers: append(deploy(ci, sha("secret bytes")), "Content-Type", "text/plain"), body: "a body", status: 400,
			contains: []string{`"field":"X-Checksum-Deploy","message":"a deploy by checksum has no body"`}},
		{method: "PUT", path: "/artefacts/rel/x", headers: []string{"Authorization", ci, "X-Checksum-Deploy", "true"}, status: 400,
			contains: []string{"needs X-Checksum-Sha256"}},
		{method: "PUT", path: "/artefacts/rel/x", headers: []string{"Authorization", ci, "X-Checksum-Deploy", "yes", "X-Checksum-Sha256", sha("x")}, status: 400},
		{method: "GET", path: "/artefacts/rel/x", headers: []string{"Authorization", ci}, status: 404},
	})
}

// TestDirectoryRulesCoverSubtrees: a rule's glob covers the directories below the
// ones it matches, for access (team/** here) as for listings.
func TestDirectoryRulesCoverSubtrees(t *testing.T) {
	h, _ := repoServer(t, artefact.Policy{}, true, nil)
	team, reader := "Bearer "+teamKey, "Bearer "+readerKey
	runSteps(t, h, []step{
		{method: "PUT", path: "/artefacts/team/deep/er/x", body: "t", headers: []string{"Authorization", team}, status: 201},
		{method: "PUT", path: "/artefacts/other/x", body: "o", headers: []string{"Authorization", team}, status: 403},
		{method: "GET", path: "/artefacts/team/deep/er/x", headers: []string{"Authorization", reader}, status: 403},
		{method: "GET", path: "/artefacts/team/deep", headers: []string{"Authorization", team}, status: 200, contains: []string{`"path":"team/deep/er"`}},
		{method: "DELETE", path: "/artefacts/team/deep", headers: []string{"Authorization", team}, status: 204},
	})
}

// TestProperties: properties on a version, within their limits, searched across the
// repository (paged), read and written under the directory's access rules.
func TestProperties(t *testing.T) {
	h, _ := repoServer(t, artefact.Policy{}, true, nil)
	ci, team, reader := "Bearer "+ciKey, "Bearer "+teamKey, "Bearer "+readerKey
	js := []string{"Content-Type", "application/json"}
	as := func(auth string, more ...string) []string { return append([]string{"Authorization", auth}, more...) }
	many := "{"
	for i := range 65 {
		if i > 0 {
			many += ","
		}
		many += `"k` + strings.Repeat("x", i%3) + string(rune('a'+i/26)) + string(rune('a'+i%26)) + `":"v"`
	}
	many += "}"
	runSteps(t, h, []step{
		{method: "PUT", path: "/artefacts/team/app/a.bin", body: "one", headers: as(team), status: 201},
		{method: "PUT", path: "/artefacts/team/app/a.bin", body: "two", headers: as(team), status: 200},
		{method: "PUT", path: "/artefacts/rel/b.bin", body: "three", headers: as(ci), status: 201},
		{method: "PUT", path: "/artefacts/team/app/a.bin/properties?version=1", body: `{"build":"142","branch":"main"}`, headers: as(team, js...), status: 200,
			wantBody: `{"directory":"team/app","id":"a.bin","version":1,"properties":{"branch":"main","build":"142"}}` + "\n"},
		{method: "PUT", path: "/artefacts/rel/b.bin/properties", body: `{"build":"142"}`, headers: as(ci, js...), status: 200},
		{method: "GET", path: "/artefacts/team/app/a.bin/properties?version=1", headers: as(team), status: 200, contains: []string{`"build":"142"`}},
		{method: "GET", path: "/artefacts/team/app/a.bin/properties", headers: as(team), status: 200,
			wantBody: `{"directory":"team/app","id":"a.bin","version":2,"properties":{}}` + "\n"},
		{method: "GET", path: "/artefacts/team/app/a.bin/versions", headers: as(team), status: 200, contains: []string{`"version":1,`, `"properties":{"branch":"main","build":"142"}`}},
		// Written and read under the directory's own rules.
		{method: "PUT", path: "/artefacts/rel/b.bin/properties", body: `{"x":"y"}`, headers: as(team, js...), status: 403},
		{method: "PUT", path: "/artefacts/team/app/a.bin/properties", body: `{"x":"y"}`, headers: as(reader, js...), status: 403},
		{method: "GET", path: "/artefacts/team/app/a.bin/properties", headers: as(reader), status: 403},
		// Searched across the repository: each caller sees what it may read, paged.
		{method: "GET", path: "/artefacts?prop.build=142", headers: as(ci), status: 200, contains: []string{`"directory":"rel"`, `"directory":"team/app"`}},
		{method: "GET", path: "/artefacts?prop.build=142&limit=1", headers: as(ci), status: 200, contains: []string{`"directory":"rel"`}},
		{method: "GET", path: "/artefacts?prop.build=142&prop.branch=main", headers: as(team), status: 200, contains: []string{`"directory":"team/app"`}},
		{method: "GET", path: "/artefacts?prop.build=142", headers: as(reader), status: 200, contains: []string{`"directory":"rel"`}},
		// Limits: a precise 400, nothing stored.
		{method: "PUT", path: "/artefacts/rel/b.bin/properties", body: many, headers: as(ci, js...), status: 400, contains: []string{"a version holds at most 64 properties"}},
		{method: "PUT", path: "/artefacts/rel/b.bin/properties", body: `{"` + strings.Repeat("k", 129) + `":"v"}`, headers: as(ci, js...), status: 400,
			contains: []string{"a property key is 1 to 128 letters, digits, . _ or -"}},
		{method: "PUT", path: "/artefacts/rel/b.bin/properties", body: `{"k":"` + strings.Repeat("v", 1025) + `"}`, headers: as(ci, js...), status: 400,
			contains: []string{"a property value is at most 1024 bytes"}},
		{method: "PUT", path: "/artefacts/rel/b.bin/properties", body: `{"k":1}`, headers: as(ci, js...), status: 400},
		{method: "PUT", path: "/artefacts/rel/b.bin/properties", body: `{"k":"v"}`, headers: as(ci), status: 415},
		{method: "GET", path: "/artefacts/rel/b.bin/properties", headers: as(ci), status: 200, contains: []string{`"properties":{"build":"142"}`}},
		{method: "GET", path: "/artefacts?prop.bad%20key=1", headers: as(ci), status: 400},
	})
}

// TestPropertySearchPages: a property search walks every match once, by its Link.
func TestPropertySearchPages(t *testing.T) {
	h, _ := repoServer(t, artefact.Policy{}, false, nil)
	for _, p := range []string{"a/x", "b/y", "c/z"} {
		runSteps(t, h, []step{
			{method: "PUT", path: "/artefacts/" + p, body: p, status: 201},
			{method: "PUT", path: "/artefacts/" + p + "/properties", body: `{"build":"7"}`, headers: []string{"Content-Type", "application/json"}, status: 200},
		})
	}
	next, seen := "/artefacts?prop.build=7&limit=2", ""
	for next != "" {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", next, nil))
		if w.Code != 200 {
			t.Fatalf("%s: %d %s", next, w.Code, w.Body)
		}
		seen += w.Body.String()
		next = ""
		if l := w.Header().Get("Link"); l != "" {
			next = l[1:strings.Index(l, ">")]
		}
	}
	for _, d := range []string{`"directory":"a"`, `"directory":"b"`, `"directory":"c"`} {
		if strings.Count(seen, d) != 1 {
			t.Errorf("%s seen %d times in %s", d, strings.Count(seen, d), seen)
		}
	}
}

func meta(path string) string {
	return "path " + base64.StdEncoding.EncodeToString([]byte(path))
}

// TestResumableUploads: tus 1.0 creation, PATCH (offsets, checksums, lengths),
// HEAD, termination; an upload is its creator's; a finished one is a version.
func TestResumableUploads(t *testing.T) {
	h, _ := repoServer(t, artefact.Policy{MaxSize: 100}, true, nil)
	ci, team := "Bearer "+ciKey, "Bearer "+teamKey
	tus := func(auth string, more ...string) []string {
		return append([]string{"Authorization", auth, "Tus-Resumable", "1.0.0"}, more...)
	}
	create := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/_uploads", nil)
	for k, v := range map[string]string{"Authorization": team, "Tus-Resumable": "1.0.0", "Upload-Length": "11", "Upload-Metadata": meta("team/up/f.txt") + ",filename " + base64.StdEncoding.EncodeToString([]byte("f.txt"))} {
		r.Header.Set(k, v)
	}
	h.ServeHTTP(create, r)
	loc := create.Header().Get("Location")
	if create.Code != 201 || !strings.HasPrefix(loc, "/_uploads/") || create.Header().Get("Tus-Resumable") != "1.0.0" {
		t.Fatalf("create: %d %v %s", create.Code, create.Header(), create.Body)
	}
	sum1 := sha1.Sum([]byte("hello"))
	bad := sha1.Sum([]byte("other"))
	patch := func(auth, offset string, more ...string) []string {
		return tus(auth, append([]string{"Content-Type", "application/offset+octet-stream", "Upload-Offset", offset}, more...)...)
	}
	runSteps(t, h, []step{
		{method: "OPTIONS", path: "/_uploads", headers: []string{"Authorization", team}, status: 204,
			wantHeader: []string{"Tus-Version", "1.0.0", "Tus-Extension", "creation,termination,checksum", "Tus-Checksum-Algorithm", "sha1,sha256,md5", "Tus-Max-Size", "100"}},
		{method: "HEAD", path: loc, headers: tus(team), status: 200, wantHeader: []string{"Upload-Offset", "0", "Upload-Length", "11", "Cache-Control", "no-store"}},
		{method: "HEAD", path: loc, headers: []string{"Authorization", team}, status: 412, wantHeader: []string{"Tus-Version", "1.0.0"}},
		// Bound to its creator.
		{method: "HEAD", path: loc, headers: tus(ci), status: 403},
		{method: "PATCH", path: loc, body: "hello", headers: patch(ci, "0"), status: 403},
		// Checksum mismatch: 460, nothing kept.
		{method: "PATCH", path: loc, body: "hello", headers: patch(team, "0", "Upload-Checksum", "sha1 "+base64.StdEncoding.EncodeToString(bad[:])), status: 460,
			contains: []string{`"title":"Checksum Mismatch","status":460`}},
		{method: "HEAD", path: loc, headers: tus(team), status: 200, wantHeader: []string{"Upload-Offset", "0"}},
		{method: "PATCH", path: loc, body: "hello", headers: patch(team, "0", "Upload-Checksum", "sha1 "+base64.StdEncoding.EncodeToString(sum1[:])), status: 204,
			wantHeader: []string{"Upload-Offset", "5", "Tus-Resumable", "1.0.0"}},
		// The wrong offset, a body over the length, the wrong type: refused, nothing kept.
		{method: "PATCH", path: loc, body: "hello", headers: patch(team, "0"), status: 409, contains: []string{"the upload is at offset 5, not 0"}},
		{method: "PATCH", path: loc, body: " world and more", headers: patch(team, "5"), status: 413},
		{method: "PATCH", path: loc, body: " world", headers: tus(team, "Upload-Offset", "5", "Content-Type", "application/octet-stream"), status: 415},
		{method: "PATCH", path: loc, body: " world", headers: patch(team, "5", "Upload-Checksum", "crc32 AAAA"), status: 400},
		{method: "HEAD", path: loc, headers: tus(team), status: 200, wantHeader: []string{"Upload-Offset", "5"}},
		{method: "PATCH", path: loc, body: " world", headers: patch(team, "5"), status: 204,
			wantHeader: []string{"Upload-Offset", "11", "X-Artefact-Version", "1", "Content-Location", "/artefacts/team/up/f.txt?version=1"}},
		{method: "HEAD", path: loc, headers: tus(team), status: 200, wantHeader: []string{"Upload-Offset", "11", "X-Artefact-Version", "1"}},
		{method: "PATCH", path: loc, body: "again", headers: patch(team, "11"), status: 409},
		{method: "GET", path: "/artefacts/team/up/f.txt", headers: []string{"Authorization", team}, status: 200, wantBody: "hello world",
			wantHeader: []string{"Content-Disposition", `attachment; filename=f.txt`}},
		// Creation: bad input, limits and access.
		// (A path that cannot be read gets the repository's access rule: ci has it.)
		{method: "POST", path: "/_uploads", headers: tus(ci, "Upload-Length", "5"), status: 400, contains: []string{"Upload-Metadata needs path"}},
		{method: "POST", path: "/_uploads", headers: tus(ci, "Upload-Length", "5", "Upload-Metadata", meta("team/a//b")), status: 400},
		{method: "POST", path: "/_uploads", headers: tus(ci, "Upload-Length", "5", "Upload-Metadata", meta("a/b/c/d/e/f/g/h/i/x")), status: 400,
			contains: []string{"directory path must have at most 8 segments"}},
		{method: "POST", path: "/_uploads", headers: tus(ci, "Upload-Length", "5", "Upload-Metadata", meta("team/versions")), status: 400},
		{method: "POST", path: "/_uploads", headers: tus(team, "Upload-Metadata", meta("team/x")), status: 400},
		{method: "POST", path: "/_uploads", headers: tus(team, "Upload-Length", "101", "Upload-Metadata", meta("team/x")), status: 413},
		{method: "POST", path: "/_uploads", headers: tus(team, "Upload-Length", "5", "Upload-Metadata", meta("rel/x")), status: 403},
		{method: "POST", path: "/_uploads", headers: []string{"Authorization", team, "Upload-Length", "5", "Upload-Metadata", meta("team/x")}, status: 412},
	})
	// A declared digest that the content does not have: 400 at the end, nothing stored.
	r = httptest.NewRequest("POST", "/_uploads", nil)
	for k, v := range map[string]string{"Authorization": team, "Tus-Resumable": "1.0.0", "Upload-Length": "3", "Upload-Metadata": meta("team/up/g"), "X-Checksum-Sha256": sha("abd")} {
		r.Header.Set(k, v)
	}
	create = httptest.NewRecorder()
	h.ServeHTTP(create, r)
	loc2 := create.Header().Get("Location")
	runSteps(t, h, []step{
		{method: "PATCH", path: loc2, body: "abc", headers: patch(team, "0"), status: 400, contains: []string{"does not match the checksum sent when the upload was created"}},
		{method: "GET", path: "/artefacts/team/up/g", headers: []string{"Authorization", team}, status: 404},
		{method: "HEAD", path: loc2, headers: tus(team), status: 404},
	})
	// Termination.
	create = httptest.NewRecorder()
	r.Header.Del("X-Checksum-Sha256")
	h.ServeHTTP(create, r)
	loc3 := create.Header().Get("Location")
	runSteps(t, h, []step{
		{method: "DELETE", path: loc3, headers: tus(ci), status: 403},
		{method: "DELETE", path: loc3, headers: tus(team), status: 204, wantHeader: []string{"Tus-Resumable", "1.0.0"}},
		{method: "HEAD", path: loc3, headers: tus(team), status: 404},
	})
}

// TestUploadsExpire: an upload no PATCH moved for 24 hours is collected.
func TestUploadsExpire(t *testing.T) {
	clk := newClock()
	h, repo := repoServer(t, artefact.Policy{}, false, clk)
	r := httptest.NewRequest("POST", "/_uploads", nil)
	r.RemoteAddr = "127.0.0.1:1"
	for k, v := range map[string]string{"Tus-Resumable": "1.0.0", "Upload-Length": "10", "Upload-Metadata": meta("d/f")} {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	loc := w.Header().Get("Location")
	tus := []string{"Tus-Resumable", "1.0.0"}
	runSteps(t, h, []step{
		{method: "PATCH", path: loc, body: "12345", headers: append(tus, "Content-Type", "application/offset+octet-stream", "Upload-Offset", "0"), status: 204},
	})
	clk.Advance(23 * time.Hour)
	if n, err := repo.SweepUploads(context.Background()); err != nil || n != 0 {
		t.Fatalf("sweep before expiry: %d %v", n, err)
	}
	runSteps(t, h, []step{{method: "HEAD", path: loc, headers: tus, status: 200, wantHeader: []string{"Upload-Offset", "5"}}})
	clk.Advance(2 * time.Hour)
	runSteps(t, h, []step{{method: "HEAD", path: loc, headers: tus, status: 404}})
	if n, err := repo.SweepUploads(context.Background()); err != nil || n != 1 {
		t.Fatalf("sweep after expiry: %d %v", n, err)
	}
}

// TestCleanupPolicies: age, keep-latest and last-download criteria per glob; a dry
// run only reports; a run deletes, frees content, and is reported.
func TestCleanupPolicies(t *testing.T) {
	clk := newClock()
	pol := artefact.Policy{Cleanup: []artefact.CleanupRule{
		{Match: "snapshots/**", OlderThan: 30 * 24 * time.Hour, KeepLatest: 1},
		{Match: "cache", NotDownloadedFor: 7 * 24 * time.Hour},
	}}
	h, _ := repoServer(t, pol, false, clk)
	runSteps(t, h, []step{
		{method: "PUT", path: "/artefacts/snapshots/app/x.bin", body: "old one", status: 201},
		{method: "PUT", path: "/artefacts/snapshots/app/x.bin", body: "old two", status: 200},
		{method: "PUT", path: "/artefacts/cache/used", body: "used", status: 201},
		{method: "PUT", path: "/artefacts/cache/unused", body: "unused", status: 201},
		{method: "PUT", path: "/artefacts/releases/r", body: "old one", status: 201},
	})
	clk.Advance(40 * 24 * time.Hour)
	runSteps(t, h, []step{
		{method: "PUT", path: "/artefacts/snapshots/app/x.bin", body: "new", status: 200},
		{method: "GET", path: "/artefacts/cache/used", status: 200},
		{method: "POST", path: "/_admin/cleanup?dry_run=true", status: 200,
			contains: []string{`"dry_run":true`, `"count":3`, `"bytes_freed":13`, `"id":"unused"`, `"version":1,`, `"version":2,`}},
		{method: "GET", path: "/artefacts/snapshots/app/x.bin?version=1", status: 200},
		{method: "POST", path: "/_admin/cleanup", status: 200, contains: []string{`"dry_run":false`, `"count":3`, `"bytes_freed":13`}},
		{method: "GET", path: "/artefacts/snapshots/app/x.bin?version=1", status: 404},
		{method: "GET", path: "/artefacts/snapshots/app/x.bin?version=2", status: 404},
		{method: "GET", path: "/artefacts/snapshots/app/x.bin", status: 200, wantBody: "new"},
		{method: "GET", path: "/artefacts/cache/unused", status: 404},
		{method: "GET", path: "/artefacts/cache/used", status: 200},
		{method: "GET", path: "/artefacts/releases/r", status: 200, wantBody: "old one"},
		{method: "POST", path: "/_admin/cleanup?dry_run=maybe", status: 400},
	})
}

// TestCleanupNeedsLoopbackWithoutAuth: without auth, /_admin/cleanup answers loopback
// clients only.
func TestCleanupNeedsLoopbackWithoutAuth(t *testing.T) {
	h, _ := repoServer(t, artefact.Policy{}, false, nil)
	r := httptest.NewRequest("POST", "/_admin/cleanup?dry_run=true", nil)
	r.RemoteAddr = "192.0.2.7:5555"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 403 {
		t.Fatalf("from afar: %d %s", w.Code, w.Body)
	}
	_, _ = io.Copy(io.Discard, w.Body)
}
