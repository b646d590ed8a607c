package web_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/restkit/restkit/auth"
	"github.com/restkit/restkit/config"
)

// put stores content at the API path (escaped) and fails the test unless it is stored.
func put(t *testing.T, h http.Handler, path, content string) {
	t.Helper()
	r := do(h, "PUT", path, strings.NewReader(content), "Content-Type", "text/plain")
	if r.code != 201 && r.code != 200 {
		t.Fatalf("PUT %s: %d\n%s", path, r.code, r.body)
	}
}

// page GETs a console page and fails the test unless it is a 200 HTML page.
func page(t *testing.T, h http.Handler, path string, headers ...string) string {
	t.Helper()
	r := do(h, "GET", path, nil, headers...)
	if r.code != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET %s: %d %s\n%s", path, r.code, r.header.Get("Content-Type"), r.body)
	}
	return r.body
}

// contains fails the test unless body holds every one of want, in that order.
func contains(t *testing.T, where, body string, want ...string) {
	t.Helper()
	at := 0
	for _, w := range want {
		i := strings.Index(body[at:], w)
		if i < 0 {
			t.Fatalf("%s: no %q (after what came before it)\n%s", where, w, body)
		}
		at += i + len(w)
	}
}

// crumbs are the breadcrumbs of a page: "label=href" per link, "label" for the
// current page.
func crumbs(body string) []string {
	nav := regexp.MustCompile(`(?s)<nav class="crumbs"[^>]*>(.*?)</nav>`).FindStringSubmatch(body)
	if nav == nil {
		return nil
	}
	var out []string
	for _, m := range regexp.MustCompile(`<a href="([^"]*)">([^<]*)</a>|<span aria-current="page">([^<]*)</span>`).FindAllStringSubmatch(nav[1], -1) {
		if m[1] != "" {
			out = append(out, m[2]+"="+m[1])
		} else {
			out = append(out, m[3])
		}
	}
	return out
}

// nestedTree stores a repository of nested directories: org/app/1.2.0 (two files,
// app.tgz in two versions with properties), org/app/2.0.0, org/readme.txt, a
// directory called versions, a segment that needs escaping, and a one-level
// directory as before nesting.
func nestedTree(t *testing.T, h http.Handler) {
	t.Helper()
	put(t, h, "/artefacts/org/app/1.2.0/app.tgz", "app one")
	put(t, h, "/artefacts/org/app/1.2.0/app.tgz", "app one, again")
	must(t, do(h, "PUT", "/artefacts/org/app/1.2.0/app.tgz/properties?version=2", strings.NewReader(`{"build":"142"}`), "Content-Type", "application/json"), 200)
	put(t, h, "/artefacts/org/app/1.2.0/notes.txt", "notes")
	put(t, h, "/artefacts/org/app/2.0.0/app.tgz", "app two")
	put(t, h, "/artefacts/org/readme.txt", "read me")
	put(t, h, "/artefacts/org/versions/x.txt", "in a directory called versions")
	put(t, h, "/artefacts/org/"+url.PathEscape("a b?#")+"/f.txt", "escaped")
	put(t, h, "/artefacts/builds/one.txt", "one level")
}

// TestNestedBrowse: the browser shows a directory at any depth: breadcrumbs with a
// link per segment, its subdirectories as links above its files, each file with its
// page, its download and its delete form; an artefact's page at depth with its
// versions and properties; segments escaped one by one; the one-level URLs as before;
// a directory's path without its slash, or an artefact's with one, sent to its page.
func TestNestedBrowse(t *testing.T) {
	h := newServer(t, config.Demo())
	nestedTree(t, h)

	org := page(t, h, "/ui/a/org/")
	if got := crumbs(org); strings.Join(got, " ") != "Overview=/ui/ artefacts=/ui/a/ org" {
		t.Fatalf("crumbs of org: %q", got)
	}
	contains(t, "org", org,
		`<table class="subdirs">`,
		`<a href="/ui/a/org/a%20b%3F%23/">a b?#/</a>`,
		`<a href="/ui/a/org/app/">app/</a>`,
		`<a href="/ui/a/org/versions/">versions/</a>`,
		`<table class="files">`,
		`<a href="/ui/a/org/readme.txt">readme.txt</a>`,
		`href="/artefacts/org/readme.txt" download="readme.txt"`,
		`action="/ui/a/org/readme.txt/delete"`)
	contains(t, "org", org, `<form method="post" action="/ui/a/org/delete" data-confirm="Delete the directory org and everything in it?">`)

	v120 := page(t, h, "/ui/a/org/app/1.2.0/")
	if got := crumbs(v120); strings.Join(got, " ") != "Overview=/ui/ artefacts=/ui/a/ org=/ui/a/org/ app=/ui/a/org/app/ 1.2.0" {
		t.Fatalf("crumbs of org/app/1.2.0: %q", got)
	}
	contains(t, "org/app/1.2.0", v120,
		`<h1>org/app/1.2.0</h1>`,
		`action="/ui/a/org/app/1.2.0/delete"`,
		`<input type="hidden" name="dir" value="org/app/1.2.0">`,
		`<a href="/ui/a/org/app/1.2.0/app.tgz">app.tgz</a>`,
		`href="/artefacts/org/app/1.2.0/app.tgz" download="app.tgz"`,
		`<a href="/ui/a/org/app/1.2.0/notes.txt">notes.txt</a>`)
	if strings.Contains(v120, `class="subdirs"`) {
		t.Fatalf("org/app/1.2.0 has no subdirectories, yet shows a table of them:\n%s", v120)
	}
	app := page(t, h, "/ui/a/org/app/")
	contains(t, "org/app", app, `<a href="/ui/a/org/app/1.2.0/">1.2.0/</a>`, `<a href="/ui/a/org/app/2.0.0/">2.0.0/</a>`)
	if strings.Contains(app, `class="files"`) {
		t.Fatalf("org/app holds no files, yet shows a table of them:\n%s", app)
	}

	art := page(t, h, "/ui/a/org/app/1.2.0/app.tgz")
	if got := crumbs(art); strings.Join(got, " ") != "Overview=/ui/ artefacts=/ui/a/ org=/ui/a/org/ app=/ui/a/org/app/ 1.2.0=/ui/a/org/app/1.2.0/ app.tgz" {
		t.Fatalf("crumbs of app.tgz: %q", got)
	}
	contains(t, "app.tgz", art,
		`<h1>app.tgz</h1>`,
		`href="/artefacts/org/app/1.2.0/app.tgz" download="app.tgz">Download latest`,
		`action="/ui/a/org/app/1.2.0/app.tgz/delete"`,
		`<code class="prop">build=142</code>`,
		`href="/artefacts/org/app/1.2.0/app.tgz?version=2"`,
		`href="/artefacts/org/app/1.2.0/app.tgz?version=1"`)
	// The links the pages give lead to the files.
	for link, want := range map[string]string{"/artefacts/org/app/1.2.0/app.tgz?version=1": "app one", "/artefacts/org/readme.txt": "read me"} {
		if r := do(h, "GET", link, nil); r.code != 200 || r.body != want {
			t.Fatalf("GET %s: %d %q", link, r.code, r.body)
		}
	}

	// A directory called versions is a directory like any other.
	contains(t, "org/versions", page(t, h, "/ui/a/org/versions/"), `<a href="/ui/a/org/versions/x.txt">x.txt</a>`, `href="/artefacts/org/versions/x.txt"`)
	// A segment that needs escaping, escaped on its own in every link.
	esc := page(t, h, "/ui/a/org/a%20b%3F%23/")
	if got := crumbs(esc); strings.Join(got, " ") != "Overview=/ui/ artefacts=/ui/a/ org=/ui/a/org/ a b?#" {
		t.Fatalf("crumbs of org/a b?#: %q", got)
	}
	contains(t, "org/a b?#", esc, `<a href="/ui/a/org/a%20b%3F%23/f.txt">f.txt</a>`, `href="/artefacts/org/a%20b%3F%23/f.txt"`)
	contains(t, "f.txt", page(t, h, "/ui/a/org/a%20b%3F%23/f.txt"), `<a href="/ui/a/org/a%20b%3F%23/">a b?#</a>`)

	// The one-level pages, at the URLs they always had.
	contains(t, "builds", page(t, h, "/ui/a/builds/"), `action="/ui/a/builds/delete"`, `<a href="/ui/a/builds/one.txt">one.txt</a>`)
	contains(t, "one.txt", page(t, h, "/ui/a/builds/one.txt"), `href="/artefacts/builds/one.txt?version=1"`)
	contains(t, "repository", page(t, h, "/ui/a/"), `<a href="/ui/a/builds/">builds</a>`, `<a href="/ui/a/org/">org</a>`)

	for from, to := range map[string]string{
		"/ui/a/org":                    "/ui/a/org/",
		"/ui/a/org/app":                "/ui/a/org/app/",
		"/ui/a/org/versions":           "/ui/a/org/versions/",
		"/ui/a/org/readme.txt/":        "/ui/a/org/readme.txt",
		"/ui/a/org/app/1.2.0/app.tgz/": "/ui/a/org/app/1.2.0/app.tgz",
	} {
		r := do(h, "GET", from, nil)
		if r.code != 303 || r.header.Get("Location") != to {
			t.Fatalf("GET %s: %d to %q, want 303 to %s\n%s", from, r.code, r.header.Get("Location"), to, r.body)
		}
	}
}

// TestNestedPathTricks: a path that is not a path of the repository is a 4xx page
// naming what is wrong, never a 500 and never a call the API would read as another
// path: %2e%2e, %2F, %00 and control characters inside a segment, bad escapes, too
// many segments, junk after an artefact, forms posted to what is not a form.
// Literal dot segments and empty segments never reach the console: the server's
// router redirects them to the cleaned path, as it does for every route.
func TestNestedPathTricks(t *testing.T) {
	h := newServer(t, config.Demo())
	nestedTree(t, h)
	for _, c := range []struct {
		method, path string
		code         int
		says         string
	}{
		{"GET", "/ui/a/org/%2e%2e/", 400, "must not be . or .."},
		{"GET", "/ui/a/%2e%2e/%2e%2e/etc/passwd", 400, "must not be . or .."},
		{"GET", "/ui/a/org/%2E/app/", 400, "must not be . or .."},
		{"GET", "/ui/a/org%2Fapp/", 400, "must not contain a slash"},
		{"GET", "/ui/a/org/app%2F1.2.0/app.tgz", 400, "must not contain a slash"},
		{"GET", "/ui/a/org/app/1.2.0/..%2Fapp.tgz", 400, "must not contain a slash"},
		{"GET", "/ui/a/org/%5C..%5C/", 400, "must not contain a backslash"},
		{"GET", "/ui/a/org/%00/", 400, "must not contain a NUL character"},
		{"GET", "/ui/a/org/readme.txt%00", 400, "must not contain a NUL character"},
		{"GET", "/ui/a/org/a%0Ab/", 400, "must not contain control characters"},
		{"GET", "/ui/a/org/x%E2%80%AEtxt.exe", 400, "must not contain control characters"},
		{"GET", "/ui/a/org/%FF/", 400, "must be valid UTF-8"},
		{"GET", "/ui/a/1/2/3/4/5/6/7/8/9/", 400, "at most 8 segments"},
		{"GET", "/ui/a/1/2/3/4/5/6/7/8/9/f.txt", 400, "at most 8 segments"},
		{"GET", "/ui/a/1/2/3/4/5/6/7/8/f.txt", 404, ""},
		{"GET", "/ui/a/org/app/1.2.0/app.tgz/junk", 404, ""},
		{"GET", "/ui/a/org/readme.txt/versions", 404, ""},
		{"GET", "/ui/a/nothing/here/", 404, "no directory nothing/here"},
		{"GET", "/ui/a/org/app/?cursor=junk", 400, "cursor"},
		{"POST", "/ui/a/org/%2e%2e/delete", 400, "must not be . or .."},
		{"POST", "/ui/a/org%2Fapp/delete", 400, "must not contain a slash"},
		{"POST", "/ui/a/org/app/remove", 404, "there is no form"},
		{"POST", "/ui/a/org/app/delete/", 404, "there is no form"},
		{"POST", "/ui/a/delete", 404, "there is no form"},
		{"POST", "/ui/a/nothing/here/delete", 404, ""},
	} {
		var r result
		if c.method == "GET" {
			r = do(h, "GET", c.path, nil)
		} else {
			r = form(h, c.path, url.Values{"confirm": {"yes"}})
		}
		if r.code != c.code || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(r.body, c.says) {
			t.Fatalf("%s %s: %d %s, want %d saying %q\n%s", c.method, c.path, r.code, r.header.Get("Content-Type"), c.code, c.says, r.body)
		}
	}
	// Literal . and .. and empty segments: the router's redirect to the cleaned path.
	for from, to := range map[string]string{"/ui/a/org/../../../cars": "/cars", "/ui/a/org/./app/": "/ui/a/org/app/", "/ui/a/org//app/": "/ui/a/org/app/"} {
		if r := do(h, "GET", from, nil); r.code/100 != 3 || r.header.Get("Location") != to {
			t.Fatalf("GET %s: %d to %q, want a redirect to %s", from, r.code, r.header.Get("Location"), to)
		}
	}
	// Nothing was deleted by any of it.
	for _, p := range []string{"/artefacts/org/app/1.2.0/app.tgz", "/artefacts/org/readme.txt", "/artefacts/builds/one.txt"} {
		must(t, do(h, "GET", p, nil), 200)
	}
}

// TestNestedDelete: deleting a nested directory asks first, then removes everything
// below it and leads to the nearest directory left (its parent, or further up when a
// delete emptied it); an artefact and a version at depth likewise; a directory
// called versions is a directory; a directory has no versions to delete.
func TestNestedDelete(t *testing.T) {
	h := newServer(t, config.Demo())
	nestedTree(t, h)
	put(t, h, "/artefacts/deep/a/b/c/only.bin", "alone")

	r := form(h, "/ui/a/org/app/delete", url.Values{})
	must(t, r, 200)
	contains(t, "confirm", r.body, `<h1>Delete the directory org/app and everything in it?</h1>`, `action="/ui/a/org/app/delete"`, `<a class="btn" href="/ui/a/org/app/">Cancel</a>`)
	must(t, do(h, "GET", "/artefacts/org/app/1.2.0/app.tgz", nil), 200)
	must(t, form(h, "/ui/a/org/app/delete", url.Values{"confirm": {"yes"}, "version": {"1"}}), 400)
	r = form(h, "/ui/a/org/app/delete", url.Values{"confirm": {"yes"}})
	must(t, r, 303)
	if r.header.Get("Location") != "/ui/a/org/" {
		t.Fatalf("after deleting org/app: Location %q", r.header.Get("Location"))
	}
	for _, p := range []string{"/artefacts/org/app/1.2.0/app.tgz", "/artefacts/org/app/2.0.0/app.tgz", "/artefacts/org/app/"} {
		must(t, do(h, "GET", p, nil), 404)
	}
	must(t, do(h, "GET", "/artefacts/org/readme.txt", nil), 200)
	if strings.Contains(page(t, h, "/ui/a/org/"), "/ui/a/org/app/") {
		t.Fatal("org still lists app")
	}

	// A directory called versions.
	r = form(h, "/ui/a/org/versions/delete", url.Values{})
	contains(t, "confirm", r.body, "Delete the directory org/versions and everything in it?")
	must(t, form(h, "/ui/a/org/versions/delete", url.Values{"confirm": {"yes"}}), 303)
	must(t, do(h, "GET", "/artefacts/org/versions/x.txt", nil), 404)

	// An artefact at depth: its versions one by one, then it is gone and so are the
	// directories it alone kept.
	put(t, h, "/artefacts/deep/a/b/c/only.bin", "alone, again")
	r = form(h, "/ui/a/deep/a/b/c/only.bin/delete", url.Values{"version": {"1"}})
	contains(t, "confirm", r.body, "<h1>Delete version 1 of only.bin?</h1>", `action="/ui/a/deep/a/b/c/only.bin/delete"`, `name="version" value="1"`)
	r = form(h, "/ui/a/deep/a/b/c/only.bin/delete", url.Values{"version": {"1"}, "confirm": {"yes"}})
	if r.code != 303 || r.header.Get("Location") != "/ui/a/deep/a/b/c/only.bin" {
		t.Fatalf("after deleting version 1: %d %q\n%s", r.code, r.header.Get("Location"), r.body)
	}
	r = form(h, "/ui/a/deep/a/b/c/only.bin/delete", url.Values{"confirm": {"yes"}})
	if r.code != 303 || r.header.Get("Location") != "/ui/a/" {
		t.Fatalf("after deleting the only artefact of deep/…: %d %q\n%s", r.code, r.header.Get("Location"), r.body)
	}
	must(t, do(h, "GET", "/artefacts/deep/", nil), 404)

	// A file of a nested directory, with files left beside it.
	put(t, h, "/artefacts/org/sub/keep.txt", "kept")
	put(t, h, "/artefacts/org/sub/gone.txt", "gone")
	r = form(h, "/ui/a/org/sub/gone.txt/delete", url.Values{})
	contains(t, "confirm", r.body, "<h1>Delete gone.txt and all its versions?</h1>")
	r = form(h, "/ui/a/org/sub/gone.txt/delete", url.Values{"confirm": {"yes"}})
	if r.code != 303 || r.header.Get("Location") != "/ui/a/org/sub/" {
		t.Fatalf("after deleting gone.txt: %d %q", r.code, r.header.Get("Location"))
	}
	must(t, do(h, "GET", "/artefacts/org/sub/gone.txt", nil), 404)
	must(t, do(h, "GET", "/artefacts/org/sub/keep.txt", nil), 200)
}

// TestNestedUpload: the upload form without script puts files into a nested
// directory, segment by segment; a directory path with an empty, . or .. segment,
// or too deep, is refused before anything is stored.
func TestNestedUpload(t *testing.T) {
	h := newServer(t, config.Demo())
	upload := func(dir string) result {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		_ = mw.WriteField("csrf", "")
		_ = mw.WriteField("dir", dir)
		fw, _ := mw.CreateFormFile("file", "one.txt")
		_, _ = fw.Write([]byte("first"))
		_ = mw.Close()
		return do(h, "POST", "/ui/a/upload", &buf, "Content-Type", mw.FormDataContentType(), "Sec-Fetch-Site", "same-origin")
	}
	r := upload(" /org/app/a b?/ ")
	if r.code != 303 || r.header.Get("Location") != "/ui/a/org/app/a%20b%3F/" {
		t.Fatalf("upload: %d %q\n%s", r.code, r.header.Get("Location"), r.body)
	}
	if r := do(h, "GET", "/artefacts/org/app/a%20b%3F/one.txt", nil); r.body != "first" {
		t.Fatalf("one.txt: %d %q", r.code, r.body)
	}
	for dir, says := range map[string]string{
		"org/../etc":        "must not be . or ..",
		"org/./x":           "must not be . or ..",
		"a//b":              "must not have an empty segment",
		"":                  "name the directory",
		"1/2/3/4/5/6/7/8/9": "at most 8 segments",
		"a\\b":              "must not contain a backslash",
	} {
		r := upload(dir)
		if r.code != 400 || !strings.Contains(r.body, says) {
			t.Fatalf("upload into %q: %d, want 400 saying %q\n%s", dir, r.code, says, r.body)
		}
	}
	if r := do(h, "GET", "/artefacts", nil); !regexp.MustCompile(`^\[\{"name":"org","artefacts":1,"size":5,"updated":"[^"]+"\}\]\n?$`).MatchString(r.body) {
		t.Fatalf("the repository holds more than the one upload: %s", r.body)
	}
}

// TestUploadReservedName: a file called versions, properties or events is refused
// (400), never sent to the sub-resource of that name: uploaded "into" an artefact's
// path, a file called properties used to set the artefact's properties.
func TestUploadReservedName(t *testing.T) {
	h := newServer(t, config.Demo())
	put(t, h, "/artefacts/org/app.tgz", "app")
	for _, name := range []string{"properties", "versions", "events"} {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		_ = mw.WriteField("csrf", "")
		_ = mw.WriteField("dir", "org/app.tgz")
		fw, _ := mw.CreatePart(map[string][]string{
			"Content-Disposition": {`form-data; name="file"; filename="` + name + `"`},
			"Content-Type":        {"application/json"}})
		_, _ = fw.Write([]byte(`{"owned":"yes"}`))
		_ = mw.Close()
		r := do(h, "POST", "/ui/a/upload", &buf, "Content-Type", mw.FormDataContentType(), "Sec-Fetch-Site", "same-origin")
		if r.code != 400 || !strings.Contains(r.body, "must not be versions, properties or events") {
			t.Fatalf("upload of %s: %d, want 400\n%s", name, r.code, r.body)
		}
	}
	if r := do(h, "GET", "/artefacts/org/app.tgz/properties", nil); r.code != 200 || strings.Contains(r.body, "owned") {
		t.Fatalf("properties after the uploads: %d %s", r.code, r.body)
	}
}

const accessYAML = `
auth:
  users:
    ci: {password: "HASH", roles: [ci]}
    team: {password: "HASH", roles: [team]}
    reader: {password: "HASH", roles: [reader]}
  access: {read: [ci, team, reader], write: [ci], delete: [ci]}
  bcrypt_cost: 4
apis:
  - resources:
      cars: {key: id, fields: {id: {type: integer}}}
artefacts:
  directories:
    "team/*/scratch/**": {access: {read: [ci, team], write: [ci, team], delete: [ci, team]}}
    "team/**": {access: {read: [ci, team], write: [ci, team], delete: [ci]}}
    "org/*/private": {access: {read: [ci]}}
`

// TestNestedAccess: what a page offers at depth follows the rule of that very
// directory (the first glob that matches the whole path), as the API decides it:
// team may upload in team/app but delete only in team/*/scratch; a reader is offered
// nothing and does not see a subdirectory it may not read, whose page is a 403; and
// the API refuses what a forged form asks all the same.
func TestNestedAccess(t *testing.T) {
	hash, err := auth.HashPassword("secret", 4)
	if err != nil {
		t.Fatal(err)
	}
	h := newServer(t, []byte(strings.ReplaceAll(accessYAML, "HASH", hash)))
	ci, team, reader := []string{"Authorization", "Basic Y2k6c2VjcmV0"}, []string{"Authorization", "Basic dGVhbTpzZWNyZXQ="}, []string{"Authorization", "Basic cmVhZGVyOnNlY3JldA=="}
	for _, p := range []string{"team/app/x.txt", "team/app/scratch/tmp/y.txt", "org/app/z.txt", "org/app/private/p.txt"} {
		r := do(h, "PUT", "/artefacts/"+p, strings.NewReader("x"), append([]string{"Content-Type", "text/plain"}, ci...)...)
		must(t, r, 201)
	}
	offers := func(who []string, path string) (upload, deleteDir, deleteFile bool) {
		t.Helper()
		body := page(t, h, path, who...)
		return strings.Contains(body, `action="/ui/a/upload"`), strings.Contains(body, `action="`+path+`delete"`),
			regexp.MustCompile(`action="` + regexp.QuoteMeta(path) + `[^"/]+/delete"`).MatchString(body)
	}
	for _, c := range []struct {
		name               string
		who                []string
		path               string
		upload, dir, files bool
	}{
		{"ci", ci, "/ui/a/team/app/", true, true, true},
		{"team", team, "/ui/a/team/app/", true, false, false},
		{"team", team, "/ui/a/team/app/scratch/tmp/", true, true, true},
		{"team", team, "/ui/a/org/app/", false, false, false},
		{"reader", reader, "/ui/a/org/app/", false, false, false},
	} {
		up, dir, files := offers(c.who, c.path)
		if up != c.upload || dir != c.dir || files != c.files {
			t.Fatalf("%s on %s: upload %v, delete directory %v, delete files %v; want %v %v %v", c.name, c.path, up, dir, files, c.upload, c.dir, c.files)
		}
	}
	if body := page(t, h, "/ui/a/team/app/scratch/tmp/y.txt", team...); !strings.Contains(body, `action="/ui/a/team/app/scratch/tmp/y.txt/delete"`) {
		t.Fatalf("team is not offered the delete of a file in scratch:\n%s", body)
	}
	if body := page(t, h, "/ui/a/team/app/x.txt", team...); strings.Contains(body, `/delete"`) {
		t.Fatalf("team is offered the delete of a file outside scratch:\n%s", body)
	}
	if body := page(t, h, "/ui/a/org/app/", reader...); strings.Contains(body, "private") {
		t.Fatalf("the reader sees a directory it may not read:\n%s", body)
	}
	if body := page(t, h, "/ui/a/org/app/", ci...); !strings.Contains(body, `<a href="/ui/a/org/app/private/">private/</a>`) {
		t.Fatalf("ci does not see org/app/private:\n%s", body)
	}
	must(t, do(h, "GET", "/ui/a/org/app/private/", nil, reader...), 403)
	must(t, do(h, "GET", "/ui/a/org/app/private/p.txt", nil, reader...), 403)
	// What the page leaves out, the API refuses: team deleting team/app.
	must(t, form(h, "/ui/a/team/app/delete", url.Values{"confirm": {"yes"}}, team...), 403)
	must(t, form(h, "/ui/a/team/app/x.txt/delete", url.Values{"confirm": {"yes"}}, team...), 403)
	must(t, do(h, "GET", "/artefacts/team/app/x.txt", nil, ci...), 200)
	// And what it offers works.
	r := form(h, "/ui/a/team/app/scratch/delete", url.Values{"confirm": {"yes"}}, team...)
	if r.code != 303 || r.header.Get("Location") != "/ui/a/team/app/" {
		t.Fatalf("team deleting team/app/scratch: %d %q\n%s", r.code, r.header.Get("Location"), r.body)
	}
	must(t, do(h, "GET", "/artefacts/team/app/scratch/tmp/y.txt", nil, ci...), 404)
}
