package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/httpapi"
)

// signInCookie holds the sign-in form's double-submit token: the form is posted
// before any session exists, so its CSRF token cannot be the session's. A page of
// another site can neither read this cookie nor make the browser send it
// (SameSite=Strict), so it cannot fill in a matching form field: no one can be
// signed in to an account of the attacker's choosing ("login CSRF").
const signInCookie = "restkit_signin"

func (c *console) routeSignIn() {
	c.mux.HandleFunc("GET "+Path+"/sign-in", c.serveSignIn)
	c.mux.HandleFunc("POST "+Path+"/sign-in", c.signIn)
	c.handle("POST "+Path+"/sign-out", c.signOut)
}

type signInPage struct {
	Next, CSRF, User, Method string
	Error                    string
}

// serveSignIn shows the sign-in form: a user name and password, or an API key.
func (c *console) serveSignIn(w http.ResponseWriter, r *http.Request) {
	if c.opts.Auth == nil {
		http.Redirect(w, r, Path+"/", http.StatusSeeOther)
		return
	}
	c.showSignIn(w, r, http.StatusOK, signInPage{Next: safeNext(r.URL.Query().Get("next")), Method: "password"})
}

func (c *console) showSignIn(w http.ResponseWriter, r *http.Request, status int, p signInPage) {
	raw := make([]byte, 24)
	_, _ = rand.Read(raw)
	p.CSRF = base64.RawURLEncoding.EncodeToString(raw)
	http.SetCookie(w, &http.Cookie{Name: signInCookie, Value: p.CSRF, Path: Path + "/sign-in", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	w.Header().Set("Cache-Control", "no-store")
	c.render(w, r, &visit{Title: "Sign in"}, status, "signin", p)
}

// signIn checks the credentials by asking the API to open a session with them
// (POST /_session, exactly as any client would), and hands the cookie it sets on
// to the browser.
func (c *console) signIn(w http.ResponseWriter, r *http.Request) {
	if c.opts.Auth == nil {
		http.Redirect(w, r, Path+"/", http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	_ = r.ParseForm()
	p := signInPage{Next: safeNext(r.PostFormValue("next")), User: r.PostFormValue("user"), Method: r.PostFormValue("method")}
	ck, err := r.Cookie(signInCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		p.Error = "This sign-in form has expired. Please try again."
		c.showSignIn(w, r, http.StatusForbidden, p)
		return
	}
	var authz string
	if p.Method == "key" {
		authz = "Bearer " + strings.TrimSpace(r.PostFormValue("key"))
	} else {
		p.Method = "password"
		if strings.Contains(p.User, ":") || p.User == "" {
			p.Error = "The user name or password is not valid."
			c.showSignIn(w, r, http.StatusBadRequest, p)
			return
		}
		authz = "Basic " + base64.StdEncoding.EncodeToString([]byte(p.User+":"+r.PostFormValue("password")))
	}
	in := apiRequest(r, http.MethodPost, httpapi.SessionPath, nil, "Authorization", authz)
	in.Header.Del("Cookie") // the credentials decide, not an old session
	rec := &recorder{header: http.Header{}}
	c.opts.API.ServeHTTP(rec, in)
	switch {
	case rec.status == http.StatusOK:
		for _, sc := range rec.header.Values("Set-Cookie") {
			w.Header().Add("Set-Cookie", sc)
		}
		http.SetCookie(w, &http.Cookie{Name: signInCookie, Value: "", Path: Path + "/sign-in", MaxAge: -1})
		http.Redirect(w, r, p.Next, http.StatusSeeOther)
		return
	case rec.status == http.StatusUnauthorized:
		p.Error = "The user name or password is not valid."
		if p.Method == "key" {
			p.Error = "The API key is not valid."
		}
	default: // 429 (too many attempts), 503 (busy): the API's own words
		p.Error = (&reply{status: rec.status, body: rec.buf.Bytes()}).err().(*restkit.Error).Message
		if ra := rec.header.Get("Retry-After"); ra != "" {
			w.Header().Set("Retry-After", ra)
		}
	}
	c.showSignIn(w, r, http.StatusBadRequest, p)
}

// signOut ends the session (DELETE /_session, which revokes it and clears the
// cookie) and goes back to the sign-in page.
func (c *console) signOut(w http.ResponseWriter, r *http.Request, v *visit) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	_ = r.ParseForm()
	in := apiRequest(r, http.MethodDelete, httpapi.SessionPath, nil, httpapi.CSRFHeader, r.PostFormValue("csrf"))
	rec := &recorder{header: http.Header{}}
	c.opts.API.ServeHTTP(rec, in)
	if rec.status != http.StatusNoContent {
		c.fail(w, r, v, (&reply{status: rec.status, body: rec.buf.Bytes()}).err())
		return
	}
	for _, sc := range rec.header.Values("Set-Cookie") {
		w.Header().Add("Set-Cookie", sc)
	}
	http.Redirect(w, r, Path+"/sign-in", http.StatusSeeOther)
}

// safeNext is where to go after signing in: a console path, never another site
// ("//evil.example" and "/\evil.example" are other sites to a browser).
func safeNext(next string) string {
	if !strings.HasPrefix(next, Path+"/") || strings.ContainsAny(next, "\\\r\n") || strings.HasPrefix(next, "//") {
		return Path + "/"
	}
	return next
}
