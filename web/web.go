package web

import (
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/auth"
	"github.com/restkit/restkit/httpapi"
)

//go:embed templates static
var assets embed.FS

// Options configure the console.
type Options struct {
	// API is the server's handler (an httpapi.Server, with its middleware): every
	// page's data comes from calls to it. Required.
	API http.Handler
	// Schema is the declaration the API serves (prepared): the console builds its
	// lists and forms from it. Required.
	Schema *restkit.Schema
	// Auth, when set, turns sign-in on and decides which actions are offered.
	Auth *auth.Authority
	// Artefacts is the path of the artefact repository, "" when none is served.
	Artefacts string
	// Logger, nil: discard.
	Logger *slog.Logger

	// The extension points for API features other issues add. Each is off until the
	// API serves the feature; the pages and scripts are ready for it.
	//
	// Events: the API serves Server-Sent Events at …/events (DESIGN §12): lists show
	// "N new records", record, noun and artefact pages update live. Off, noun pages
	// poll their state instead.
	Events bool
	// Uploads is the tus endpoint for resumable uploads (DESIGN §14, "/_uploads"):
	// the upload script then sends big files there. "": plain PUT.
	Uploads string
	// Capabilities: the API serves /_admin/capabilities (DESIGN §13): the overview
	// lists the switches, and admins can flip them.
	Capabilities bool
}

// Path is where the console is served (httpapi.ConsolePath).
const Path = httpapi.ConsolePath

// console is the web console: an http.Handler.
type console struct {
	opts  Options
	log   *slog.Logger
	pages *pages
	mux   *http.ServeMux
}

// New returns the console's handler, to be served at Path/ (httpapi.Options.Console
// does that).
func New(opts Options) (http.Handler, error) {
	if opts.API == nil || opts.Schema == nil || !opts.Schema.Prepared() {
		return nil, errors.New("web.New: Options.API and a prepared Options.Schema are required")
	}
	c := &console{opts: opts, log: opts.Logger, mux: http.NewServeMux()}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if c.pages, err = loadPages(); err != nil {
		return nil, err
	}
	static, _ := fs.Sub(assets, "static")
	c.mux.Handle("GET "+Path+"/static/", http.StripPrefix(Path+"/static/", staticFiles(http.FileServerFS(static))))
	c.mux.HandleFunc("GET "+Path+"/{$}", c.page(c.serveOverview))
	c.routeSignIn()
	c.routeResources()
	c.routeNouns()
	if opts.Artefacts != "" {
		c.routeArtefacts()
	}
	if opts.Capabilities {
		c.mux.HandleFunc("POST "+Path+"/capabilities/{name}", c.page(c.flipCapability))
	}
	c.mux.HandleFunc(Path+"/", c.page(func(w http.ResponseWriter, r *http.Request, v *visit) {
		c.fail(w, r, v, restkit.Errorf(restkit.NotFound, "there is no page at %s", r.URL.Path))
	}))
	return c, nil
}

// ServeHTTP sets the console's headers and refuses cross-site writes before routing.
func (c *console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// No inline script or style anywhere: every script and style is a file under
	// static/, so a value that slipped past escaping still could not run.
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !sameOrigin(r) {
		http.Error(w, "cross-site request refused", http.StatusForbidden)
		return
	}
	c.mux.ServeHTTP(w, r)
}

// sameOrigin reports whether a browser says r comes from a page of this origin. A
// current browser sends Sec-Fetch-Site with every request, and that decides; an
// older one sends Origin with a POST (as "null" under our Referrer-Policy:
// no-referrer, which says nothing, so it is refused). A client that sends neither is
// not a browser a forged page could drive, and is let through (the API still checks
// its credentials).
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin" || site == "none"
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host && (u.Scheme == "https") == (r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"))
}

// staticFiles serves the embedded assets. Embedded files have no modification time
// to revalidate against, so browsers may keep them for five minutes.
func staticFiles(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		h.ServeHTTP(w, r)
	})
}

// visit is what every page knows about its request: who the caller is.
type visit struct {
	Session *session // nil: anonymous
	Title   string
	Crumbs  []crumb
}

type crumb struct{ Label, Href string }

// page wraps a page handler: it finds the caller (GET /_session), sends a caller
// that must sign in to the sign-in page, and marks pages as not to be stored (they
// carry CSRF tokens).
func (c *console) page(h func(http.ResponseWriter, *http.Request, *visit)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		v := &visit{}
		if c.opts.Auth != nil {
			s, err := c.whoAmI(r)
			if err != nil {
				c.fail(w, r, v, err)
				return
			}
			if s == nil {
				to := Path + "/sign-in"
				if r.Method == http.MethodGet && r.URL.Path != Path+"/" {
					to += "?next=" + url.QueryEscape(r.URL.RequestURI())
				}
				http.Redirect(w, r, to, http.StatusSeeOther)
				return
			}
			v.Session = s
		}
		h(w, r, v)
	}
}
