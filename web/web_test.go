package web_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/restkit/restkit/artefact"
	"github.com/restkit/restkit/auth"
	"github.com/restkit/restkit/config"
	"github.com/restkit/restkit/fsblob"
	"github.com/restkit/restkit/httpapi"
	"github.com/restkit/restkit/sqlite"
	"github.com/restkit/restkit/web"
)

// newServer is the demo API (or src) on SQLite with the artefact repository and the
// console, as server.New mounts it.
func newServer(t *testing.T, src []byte) http.Handler {
	t.Helper()
	cfg, err := config.Parse("api.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	store, err := sqlite.Open(filepath.Join(dir, "restkit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Migrate(t.Context(), cfg.Schema); err != nil {
		t.Fatal(err)
	}
	blobs, err := fsblob.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	authority, err := auth.New(cfg.Schema, cfg.ArtefactAccess())
	if err != nil {
		t.Fatal(err)
	}
	opts := httpapi.Options{Schema: cfg.Schema, Store: store, Auth: authority,
		Artefacts: artefact.New(artefact.Options{Blobs: blobs, Meta: store, Policy: cfg.Artefacts.Policy}), ArtefactsPath: "/artefacts"}
	var api http.Handler
	if opts.Console, err = web.New(web.Options{API: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { api.ServeHTTP(w, r) }),
		Schema: cfg.Schema, Auth: authority, Artefacts: "/artefacts"}); err != nil {
		t.Fatal(err)
	}
	h, err := httpapi.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	api = h
	return h
}

type result struct {
	code   int
	header http.Header
	body   string
}

// do sends a request; headers are name, value pairs.
func do(h http.Handler, method, path string, body io.Reader, headers ...string) result {
	r := httptest.NewRequest(method, path, body)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return result{w.Code, w.Header(), w.Body.String()}
}

func form(h http.Handler, path string, values url.Values, headers ...string) result {
	return do(h, "POST", path, strings.NewReader(values.Encode()), append([]string{"Content-Type", "application/x-www-form-urlencoded", "Sec-Fetch-Site", "same-origin"}, headers...)...)
}

func must(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d\n%s", r.code, code, r.body)
	}
}

// TestPagesRender: every page of the demo renders (200, HTML) with the console's
// CSP and the hostile values of a record escaped, never markup.
func TestPagesRender(t *testing.T) {
	h := newServer(t, config.Demo())
	must(t, do(h, "POST", "/cars", strings.NewReader(`{"id":1,"model":"<script>alert(1)</script>","color":"\"><img src=x onerror=alert(2)>"}`), "Content-Type", "application/json"), 201)
	must(t, do(h, "PATCH", "/cars/1", strings.NewReader(`{"year":2020}`), "Content-Type", "application/json"), 200)
	must(t, do(h, "PUT", "/artefacts/"+url.PathEscape(`<b>x<i>`)+"/"+url.PathEscape(`"><img src=x>?#.txt`), strings.NewReader("hi"), "Content-Type", "text/plain"), 201)
	for _, path := range []string{"/ui/", "/ui/r/cars", "/ui/r/cars?sort=-year&f=color&op=eq&v=red&count=true", "/ui/r/cars/k/1", "/ui/r/cars/k/1?from=1&to=2",
		"/ui/r/cars/new", "/ui/r/cars/k/1/edit", "/ui/r/v1/people", "/ui/r/v1/people/new", "/ui/n/led", "/ui/a/",
		"/ui/a/" + url.PathEscape("<b>x<i>") + "/", "/ui/a/" + url.PathEscape("<b>x<i>") + "/" + url.PathEscape(`"><img src=x>?#.txt`)} {
		r := do(h, "GET", path, nil)
		if r.code != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET %s: %d %s\n%s", path, r.code, r.header.Get("Content-Type"), r.body)
		}
		csp := r.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe") {
			t.Fatalf("GET %s: CSP %q", path, csp)
		}
		for _, raw := range []string{"<script>alert", "<img src=x", "<b>x", " style=", "<style", "onclick="} {
			if strings.Contains(r.body, raw) {
				t.Fatalf("GET %s: the page holds %q unescaped", path, raw)
			}
		}
		if inline := regexp.MustCompile(`<script(?: [^>]*)?>[^<]`).FindString(r.body); inline != "" {
			t.Fatalf("GET %s: an inline script: %s", path, inline)
		}
	}
	if r := do(h, "GET", "/ui/r/cars/k/1", nil); !strings.Contains(r.body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatalf("the record's model is not shown as text:\n%s", r.body)
	}
	if r := do(h, "GET", "/ui/r/cars/export.csv?f=color&op=eq&v=%22%3E%3Cimg+src%3Dx+onerror%3Dalert(2)%3E", nil); r.code != 200 ||
		!strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") || strings.Count(r.body, "\n") != 2 {
		t.Fatalf("export: %d %s\n%s", r.code, r.header.Get("Content-Type"), r.body)
	}
	must(t, do(h, "GET", "/ui/nothing-here", nil), 404)
}

// TestCrossSiteWrites: a form post that a browser says comes from another site is
// refused before anything is done; the same post from the console's own page works.
func TestCrossSiteWrites(t *testing.T) {
	h := newServer(t, config.Demo())
	car := url.Values{"id": {"3"}, "model": {"Zoe"}, "color": {"blue"}}
	for _, hdr := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Sec-Fetch-Site", "same-site"}, {"Origin", "http://evil.example"}, {"Origin", "null"}} {
		r := do(h, "POST", "/ui/r/cars/new", strings.NewReader(car.Encode()), "Content-Type", "application/x-www-form-urlencoded", hdr[0], hdr[1])
		must(t, r, 403)
	}
	must(t, do(h, "GET", "/cars/3", nil), 404)
	r := form(h, "/ui/r/cars/new", car)
	must(t, r, 303)
	if r.header.Get("Location") != "/ui/r/cars/k/3" {
		t.Fatalf("Location %q", r.header.Get("Location"))
	}
	must(t, do(h, "GET", "/cars/3", nil), 200)
}

// TestFormErrors: a value that is not of its field's type, and the API's own
// validation, are shown beside the field, with the values typed kept.
func TestFormErrors(t *testing.T) {
	h := newServer(t, config.Demo())
	r := form(h, "/ui/r/cars/new", url.Values{"id": {"4"}, "model": {"Golf"}, "color": {"red"}, "year": {"soon"}})
	must(t, r, 400)
	if !strings.Contains(r.body, `id="e-year">must be an integer`) || !strings.Contains(r.body, `value="soon"`) {
		t.Fatalf("no error beside year:\n%s", r.body)
	}
	r = form(h, "/ui/r/cars/new", url.Values{"id": {"4"}, "color": {"red"}})
	must(t, r, 400)
	if !strings.Contains(r.body, `id="e-model">is required`) {
		t.Fatalf("no error beside model:\n%s", r.body)
	}
	must(t, do(h, "GET", "/cars/4", nil), 404)
}

// TestEditConflict: an edit sent with a stale ETag is a 412 page showing the version
// saved meanwhile; "merge" fills the form with theirs plus the fields this edit
// changed; saving it then succeeds.
func TestEditConflict(t *testing.T) {
	h := newServer(t, config.Demo())
	must(t, do(h, "POST", "/cars", strings.NewReader(`{"id":5,"model":"Golf","color":"red","year":2010}`), "Content-Type", "application/json"), 201)
	edit := do(h, "GET", "/ui/r/cars/k/5/edit", nil)
	etag := regexp.MustCompile(`name="etag" value="([^"]+)"`).FindStringSubmatch(edit.body)
	if etag == nil {
		t.Fatalf("no etag in the form:\n%s", edit.body)
	}
	must(t, do(h, "PATCH", "/cars/5", strings.NewReader(`{"model":"Golf GTI"}`), "Content-Type", "application/json"), 200)
	mine := url.Values{"etag": {htmlUnescape(etag[1])}, "orig.model": {"Golf"}, "orig.color": {"red"}, "orig.year": {"2010"},
		"model": {"Golf"}, "color": {"red"}, "year": {"2011"}, "action": {"save"}}
	r := form(h, "/ui/r/cars/k/5/edit", mine)
	must(t, r, 412)
	if !strings.Contains(r.body, "Someone else saved this record") || !strings.Contains(r.body, "Golf GTI") {
		t.Fatalf("conflict page:\n%s", r.body)
	}
	mine.Set("action", "merge")
	r = form(h, "/ui/r/cars/k/5/edit", mine)
	must(t, r, 200)
	if !strings.Contains(r.body, `name="model" type="text" value="Golf GTI"`) || !strings.Contains(r.body, `value="2011"`) {
		t.Fatalf("merged form:\n%s", r.body)
	}
	newTag := regexp.MustCompile(`name="etag" value="([^"]+)"`).FindStringSubmatch(r.body)[1]
	mine.Set("etag", htmlUnescape(newTag))
	mine.Set("model", "Golf GTI")
	mine.Set("action", "save")
	must(t, form(h, "/ui/r/cars/k/5/edit", mine), 303)
	if r := do(h, "GET", "/cars/5", nil); !strings.Contains(r.body, `"model":"Golf GTI"`) || !strings.Contains(r.body, `"year":2011`) {
		t.Fatalf("after the merge: %s", r.body)
	}
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&#34;", `"`, "&quot;", `"`, "&amp;", "&").Replace(s)
}

// TestPlainUpload: the upload form without script: csrf and dir, then several files,
// each streamed to PUT /artefacts/DIR/NAME. A delete asks first.
func TestPlainUpload(t *testing.T) {
	h := newServer(t, config.Demo())
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("csrf", "")
	_ = mw.WriteField("dir", "builds")
	for name, content := range map[string]string{"one.txt": "first", "two.bin": "second"} {
		fw, _ := mw.CreateFormFile("file", name)
		_, _ = fw.Write([]byte(content))
	}
	_ = mw.Close()
	r := do(h, "POST", "/ui/a/upload", &buf, "Content-Type", mw.FormDataContentType(), "Sec-Fetch-Site", "same-origin")
	must(t, r, 303)
	if r := do(h, "GET", "/artefacts/builds/two.bin", nil); r.body != "second" {
		t.Fatalf("two.bin: %d %q", r.code, r.body)
	}
	r = form(h, "/ui/a/builds/delete", url.Values{})
	if r.code != 200 || !strings.Contains(r.body, "Delete the directory builds") {
		t.Fatalf("unconfirmed delete: %d\n%s", r.code, r.body)
	}
	must(t, do(h, "GET", "/artefacts/builds", nil), 200)
	must(t, form(h, "/ui/a/builds/delete", url.Values{"confirm": {"yes"}}), 303)
	must(t, do(h, "GET", "/artefacts/builds", nil), 404)
}

const secureYAML = `
auth:
  users:
    bob: {password: "$2a$04$nR6AEBSHf6U0UzKB5zwHF.RYbqUlpbqHLeVxQzJNrxqUWNeHN6WFO", roles: [reader]}
  access: {read: [reader], write: [admin]}
  bcrypt_cost: 4
apis:
  - resources:
      cars: {key: id, fields: {id: {type: integer}, model: {type: string}}}
artefacts: {}
`

// TestSignIn: with auth, pages send the caller to the sign-in form; the form needs
// its double-submit token; a right password gives the session cookie, and the pages
// then know the caller, show no action its roles do not allow, and carry the
// session's CSRF token; sign-out ends it.
func TestSignIn(t *testing.T) {
	hash, err := auth.HashPassword("bob-secret", 4)
	if err != nil {
		t.Fatal(err)
	}
	h := newServer(t, []byte(strings.Replace(secureYAML, "$2a$04$nR6AEBSHf6U0UzKB5zwHF.RYbqUlpbqHLeVxQzJNrxqUWNeHN6WFO", hash, 1)))
	r := do(h, "GET", "/ui/r/cars", nil)
	must(t, r, 303)
	if r.header.Get("Location") != "/ui/sign-in?next=%2Fui%2Fr%2Fcars" {
		t.Fatalf("Location %q", r.header.Get("Location"))
	}
	page := do(h, "GET", "/ui/sign-in", nil)
	must(t, page, 200)
	token := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page.body)[1]
	pre := "restkit_signin=" + token
	creds := url.Values{"csrf": {token}, "user": {"bob"}, "password": {"bob-secret"}, "next": {"/ui/r/cars"}}
	must(t, form(h, "/ui/sign-in", creds, "Cookie", "restkit_signin=other"), 403)
	bad := url.Values{"csrf": {token}, "user": {"bob"}, "password": {"wrong"}}
	if r := form(h, "/ui/sign-in", bad, "Cookie", pre); r.code != 400 || !strings.Contains(r.body, "not valid") {
		t.Fatalf("wrong password: %d\n%s", r.code, r.body)
	}
	r = form(h, "/ui/sign-in", creds, "Cookie", pre)
	must(t, r, 303)
	var session string
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == httpapi.SessionCookie {
			session = c.Name + "=" + c.Value
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
				t.Fatalf("session cookie %+v", c)
			}
		}
	}
	if session == "" || r.header.Get("Location") != "/ui/r/cars" {
		t.Fatalf("sign-in: cookie %q, Location %q", session, r.header.Get("Location"))
	}
	list := do(h, "GET", "/ui/r/cars", nil, "Cookie", session)
	must(t, list, 200)
	if !strings.Contains(list.body, "Signed in as <strong>bob</strong>") || strings.Contains(list.body, "New car") ||
		!strings.Contains(list.body, `<meta name="csrf-token" content="`) {
		t.Fatalf("list as bob:\n%s", list.body)
	}
	if dirs := do(h, "GET", "/ui/a/", nil, "Cookie", session); strings.Contains(dirs.body, `action="/ui/a/upload"`) {
		t.Fatalf("bob is offered an upload:\n%s", dirs.body)
	}
	csrf := regexp.MustCompile(`name="csrf-token" content="([^"]+)"`).FindStringSubmatch(list.body)[1]
	// The page leaves creating out, and the API refuses it all the same.
	must(t, form(h, "/ui/r/cars/new", url.Values{"csrf": {csrf}, "id": {"1"}}, "Cookie", session), 403)
	// A safe next only: another site is never where a sign-in leads.
	creds.Set("next", "//evil.example/")
	if r := form(h, "/ui/sign-in", creds, "Cookie", pre); r.header.Get("Location") != "/ui/" {
		t.Fatalf("next=//evil.example: Location %q", r.header.Get("Location"))
	}
	must(t, form(h, "/ui/sign-out", url.Values{"csrf": {"wrong"}}, "Cookie", session), 403)
	r = form(h, "/ui/sign-out", url.Values{"csrf": {csrf}}, "Cookie", session)
	must(t, r, 303)
	must(t, do(h, "GET", "/cars", nil, "Cookie", session), 401)
}

// TestFormsNeedTheirCSRFToken: a form posted with the session cookie changes nothing
// unless it carries the session's CSRF token. The console sends the form's token on
// to the API, which checks it; it used to send the session's own, so a forged form
// (no token, or a wrong one) that passed the browser checks deleted all the same.
func TestFormsNeedTheirCSRFToken(t *testing.T) {
	hash, err := auth.HashPassword("alice-secret", 4)
	if err != nil {
		t.Fatal(err)
	}
	h := newServer(t, []byte(`
auth:
  users:
    alice: {password: "`+hash+`", roles: [admin]}
  access: {read: [admin], write: [admin]}
  bcrypt_cost: 4
apis:
  - resources:
      cars: {key: id, fields: {id: {type: integer}, model: {type: string}}}
    nouns:
      led: {fields: {state: {type: enum, values: ["on", "off"], default: "off"}}, update: toggle state}
artefacts: {}
`))
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:alice-secret"))
	must(t, do(h, "POST", "/cars", strings.NewReader(`{"id":1,"model":"T"}`), "Authorization", basic, "Content-Type", "application/json"), 201)
	must(t, do(h, "PUT", "/artefacts/org/app/a.txt", strings.NewReader("a"), "Authorization", basic), 201)
	signIn := do(h, "POST", httpapi.SessionPath, nil, "Authorization", basic)
	must(t, signIn, 200)
	var sess struct{ CSRF string }
	if err := json.Unmarshal([]byte(signIn.body), &sess); err != nil || sess.CSRF == "" {
		t.Fatalf("session: %v %s", err, signIn.body)
	}
	var cookie string
	for _, c := range (&http.Response{Header: signIn.header}).Cookies() {
		if c.Name == httpapi.SessionCookie {
			cookie = c.Name + "=" + c.Value
		}
	}
	forms := []struct {
		path   string
		values url.Values
		check  string // the API's URL that must still answer 200 after a refused form
	}{
		{"/ui/r/cars/k/1/delete", url.Values{"confirm": {"yes"}}, "/cars/1"},
		{"/ui/a/org/app/a.txt/delete", url.Values{"confirm": {"yes"}}, "/artefacts/org/app/a.txt"},
		{"/ui/a/org/delete", url.Values{"confirm": {"yes"}}, "/artefacts/org/app/a.txt"},
		{"/ui/r/cars/new", url.Values{"id": {"2"}, "model": {"forged"}}, ""},
		{"/ui/n/led", url.Values{"action": {"update"}}, ""},
	}
	for _, f := range forms {
		for _, token := range []string{"", "forged", sess.CSRF + "x"} {
			vals := url.Values{}
			for k, v := range f.values {
				vals[k] = v
			}
			if token != "" {
				vals.Set("csrf", token)
			}
			if r := form(h, f.path, vals, "Cookie", cookie); r.code != 403 {
				t.Fatalf("%s with csrf %q: %d, want 403\n%s", f.path, token, r.code, r.body)
			}
			if f.check != "" {
				must(t, do(h, "GET", f.check, nil, "Authorization", basic), 200)
			}
		}
	}
	must(t, do(h, "GET", "/cars/2", nil, "Authorization", basic), 404)
	if r := do(h, "GET", "/led", nil, "Authorization", basic); !strings.Contains(r.body, `"off"`) {
		t.Fatalf("the led was toggled by a forged form: %s", r.body)
	}
	// With the token, the same forms do what they say.
	must(t, form(h, "/ui/a/org/app/a.txt/delete", url.Values{"confirm": {"yes"}, "csrf": {sess.CSRF}}, "Cookie", cookie), 303)
	must(t, do(h, "GET", "/artefacts/org/app/a.txt", nil, "Authorization", basic), 404)
	must(t, form(h, "/ui/r/cars/k/1/delete", url.Values{"confirm": {"yes"}, "csrf": {sess.CSRF}}, "Cookie", cookie), 303)
	must(t, do(h, "GET", "/cars/1", nil, "Authorization", basic), 404)
}
