package httpapi

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/artefact"
	"github.com/restkit/restkit/auth"
	"github.com/restkit/restkit/metrics"
	"github.com/restkit/restkit/openapi"
	"github.com/restkit/restkit/ratelimit"
)

// Log keys, shared by every line this package writes.
const (
	keyMethod    = "method"
	keyPath      = "path"
	keyStatus    = "status"
	keyBytes     = "bytes"
	keyDuration  = "duration_ms"
	keyRemote    = "remote"
	keyError     = "error"
	keyDecision  = "decision"
	keyRequestID = "request_id"
)

// Options configure a Server.
type Options struct {
	Schema *restkit.Schema // prepared
	Store  restkit.Store   // migrated for Schema
	Logger *slog.Logger    // nil: discard
	Debug  bool            // log every decision, not only one line per request
	// CursorKey signs paging cursors. Nodes that serve one store must share it;
	// nil makes a random key, so cursors do not survive a restart.
	CursorKey []byte
	// Now is the clock for timestamps, for the in-process limiters this package
	// makes and for the reuse of /readyz's answer; nil is time.Now.
	Now func() time.Time
	// Artefacts, when set, is served under ArtefactsPath (default /artefacts).
	Artefacts     *artefact.Repository
	ArtefactsPath string
	// MinBodyRate, when positive, is the average rate in bytes per second that a
	// request body must keep once BodyGrace (default 10s) has passed since the request
	// began; a slower client is cut off with 408. Zero turns the check off.
	MinBodyRate int64
	BodyGrace   time.Duration
	// CORS, when set, is the cross-origin allow-list; nil leaves CORS off.
	CORS *CORS
	// Limiter enforces the Schema's rate limits (restkit.Schema.RateLimitAt); nil
	// with limits declared is an in-process ratelimit.Local. With Auth, it also
	// counts password checks per address and failed ones per account when it is a
	// ratelimit.Ledger (Local and Redis are); otherwise those are counted by an
	// in-process Local, per node.
	Limiter ratelimit.Limiter
	// TrustedProxies are the peers whose X-Forwarded-For names the client.
	TrustedProxies []netip.Prefix
	// Auth authenticates callers and decides access (auth.New); nil leaves every
	// route open.
	Auth *auth.Authority
	// Metrics, when set, counts every request and is served at /metrics.
	Metrics *metrics.Metrics
	// Ready are the checks of /readyz (the store, the blob store, the limiter).
	Ready []ReadyCheck
	// Previous is the handler this one replaces (a reload): what it remembers in
	// memory — signed-out sessions, sign-in failures, in-process rate-limit buckets —
	// carries over, so that a reload neither signs anyone back in nor resets a limit.
	Previous *Server
	// ConfigSum is the sha256 (hex) of the config served, shown by /readyz; "" for none.
	ConfigSum string
	// Admin are the operations endpoints under /_admin/ (admin.go).
	Admin []AdminRoute
	// Events configure the event streams, served when Store is a restkit.EventLog.
	Events EventsOptions
	// ArtefactsCapability names the capability the artefact repository is served
	// under (restkit.Capability); "" for none.
	ArtefactsCapability string
	// SessionKey signs the session cookies of browsers signed in at /_session (with
	// Auth only). Nodes that serve one store must share it; nil makes a random key, so
	// sessions do not survive a restart.
	SessionKey []byte
	// Console, when set, is the web console (package web), served at ConsolePath/
	// behind the same middleware as every route. Its route is open: the console signs
	// its callers in through /_session and reads and writes only through this
	// Server's routes, whose guards decide.
	Console http.Handler
	// Webhooks are the webhook event types some endpoint receives, which
	// /openapi.json and /docs describe (config.Config.WebhookEvents).
	Webhooks []string
	// Backup, when set, writes a backup of the server's data to w: served to admins
	// at BackupPath (backup.go).
	Backup func(ctx context.Context, w io.Writer) error
}

// ConsolePath is where the web console is served.
const ConsolePath = "/ui"

// Server serves the APIs of a Schema over a Store. It is an http.Handler.
type Server struct {
	schema        *restkit.Schema
	store         restkit.Store
	log           *slog.Logger
	logh          slog.Handler // the handler under log's requestIDHandler, for the request line (finish)
	debug         bool
	cursors       *cursorCodec
	now           func() time.Time
	mux           *http.ServeMux
	handlers      map[*restkit.Resource]*resourceHandler
	artefacts     string   // the repository's path, "" when none is served
	artefactRoots []string // the paths it is served under: artefacts and its alias
	handler       http.Handler
	minRate       int64 // bytes per second a request body must average after bodyGrace; 0: off
	bodyGrace     time.Duration
	corsCfg       *CORS
	limiter       ratelimit.Limiter // nil: no limits declared
	localLimiter  bool              // limiter is this handler's in-process one
	trusted       []netip.Prefix
	auth          *auth.Authority  // nil: no authentication
	signIns       ratelimit.Ledger // counts password checks per address and failures per account (with auth)
	routes        []Route
	metrics       *metrics.Metrics // nil: not collected
	ready         []ReadyCheck
	configSum     string    // Options.ConfigSum
	readiness     readiness // the last answer of /readyz
	sessions      *sessions // nil: no auth, so no sign-in
	console       bool      // the web console is served at ConsolePath
	streams       bool      // the store keeps a change log: event streams are served (events.go)
	artefactsCap  string    // the repository's capability (capabilities.go)
	feedState
}

// New builds the routes of every API, resource and noun in opts.Schema. Its
// preconditions are checked, not assumed: opts.Schema must be prepared
// (restkit.Schema.Prepare) and opts.Store given and, when it can tell
// (restkit.SchemaChecker), migrated for that schema; otherwise New returns an
// Invalid error and no Server.
func New(opts Options) (*Server, error) {
	if err := checkOptions(opts); err != nil {
		return nil, err
	}
	s := &Server{
		schema: opts.Schema,
		store:  opts.Store,
		log:    opts.Logger,
		debug:  opts.Debug,
		now:    opts.Now,
		mux:    http.NewServeMux(),

		minRate:   opts.MinBodyRate,
		bodyGrace: opts.BodyGrace,
		corsCfg:   opts.CORS,
		limiter:   opts.Limiter,
		trusted:   opts.TrustedProxies,
		auth:      opts.Auth,
		metrics:   opts.Metrics,
		ready:     opts.Ready, configSum: opts.ConfigSum,
	}
	_, s.streams = opts.Store.(restkit.EventLog)
	s.artefactsCap = opts.ArtefactsCapability
	s.events = opts.Events.withDefaults()
	// What this node remembers in memory — in-process rate-limit buckets, sign-in
	// failures, signed-out sessions — carries over from the handler this one replaces.
	prev := opts.Previous
	local := func() *ratelimit.Local { return ratelimit.NewLocalWith(ratelimit.LocalOptions{Now: opts.Now}) }
	if s.limiter == nil && hasRateLimits(opts.Schema) {
		s.limiter = local()
		if prev != nil && prev.localLimiter {
			s.limiter = prev.limiter
		}
		s.localLimiter = true
	}
	if s.auth != nil {
		if l, ok := s.limiter.(ratelimit.Ledger); ok {
			s.signIns = l // shared across nodes when it is Redis
		} else if prev != nil && prev.signIns != nil && prev.signIns != prev.limiter {
			s.signIns = prev.signIns
		} else {
			s.signIns = local()
		}
		var was *sessions
		if prev != nil {
			was = prev.sessions
		}
		s.sessions = newSessions(opts.SessionKey, s.auth, was)
	}
	if s.bodyGrace <= 0 {
		s.bodyGrace = 10 * time.Second
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.logh = s.log.Handler()
	s.log = slog.New(requestIDHandler{s.logh})
	if s.now == nil {
		s.now = time.Now
	}
	key := opts.CursorKey
	if key == nil {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	s.cursors = newCursorCodec(key)
	s.routeSchema()
	s.routeServer(opts)
	// Outermost first: serve (middleware.go) gives the request its id and the one
	// per-request value and response writer, which the metrics, the log and the guards
	// share, so it sees every answer; the CORS preflight needs no credentials; the rate
	// limit counts per caller.
	s.handler = s.serve(s.cors(s.authenticate(s.rateLimit(s.slowBodies(s.dotSegments(s.readOnlyWrites(metrics.Route(s.mux))))))))
	return s, nil
}

// routeSchema registers the routes of every API's resources and nouns.
func (s *Server) routeSchema() {
	s.handlers = map[*restkit.Resource]*resourceHandler{}
	for _, api := range s.schema.APIs {
		for _, res := range api.Resources {
			h := &resourceHandler{endpoint: endpoint{s, api, res.Path, res.Singular}, res: res, view: fullView(res.Fields, res.Timestamps)}
			h.guard = s.accessGuard("resource:"+api.ListPath(res), func(a *auth.Authority) restkit.Access { return a.ResourceAccess(api, res) })
			h.guard.deprecation = api.DeprecationOf(res)
			h.guard.enabled = res.Enabled
			s.handlers[res] = h
		}
	}
	for _, api := range s.schema.APIs {
		for _, res := range api.Resources {
			list, items := api.ListPath(res), api.ItemsPath(res)
			h := s.handlers[res]
			g := h.guard
			s.route(list, allowHeader(res.Collection), g, h.serveCollection)
			if items != list && res.Allows(http.MethodPost, false) {
				s.route(items, allowHeader(createVerbs), g, h.serveCreate) // POST B/resource, as a Flask app takes it
			}
			s.route(items+"/{key}", allowHeader(res.Item), g, h.serveItem)
			s.routeHistory(api, h)   // …/{key}/revisions[/{rev}], with history: true
			s.subCollections(api, h) // …/{key}/books: the records that refer to it
			// A stream shows the records: it is there only while GET of the list (or of
			// an item) is, declared and not switched off.
			if s.streams && slices.Contains(res.Collection, http.MethodGet) {
				gl := g
				gl.enabled = func() bool { return res.Enabled() && res.Allows(http.MethodGet, false) }
				s.routeStream(list+"/events", gl, h.serveEvents)
			}
			if s.streams && slices.Contains(res.Item, http.MethodGet) && !hasSubCollection(res, "events") {
				gi := g
				gi.enabled = func() bool { return res.Enabled() && res.Allows(http.MethodGet, true) }
				s.routeStream(items+"/{key}/events", gi, h.serveItemEvents)
			}
		}
		for _, n := range api.Nouns {
			h := &nounHandler{endpoint: endpoint{s, api, n.Name, n.Name}, noun: n, view: fullView(n.Fields, false)}
			h.guard = s.accessGuard("noun:"+api.Base+"/"+n.Name, func(a *auth.Authority) restkit.Access { return a.NounAccess(api, n) })
			h.guard.deprecation = api.DeprecationOf(nil)
			h.guard.enabled = n.Enabled
			s.route(api.Base+"/"+n.Name, nounAllow, h.guard, h.serve)
			if s.streams {
				s.routeStream(api.Base+"/"+n.Name+"/events", h.guard, h.serveEvents)
			}
		}
	}
}

// routeServer registers what the server serves beside the declaration: the artefact
// repository, the probes, /metrics, the documents and the index, and the answer to
// every path nothing else takes.
func (s *Server) routeServer(opts Options) {
	if opts.Artefacts != nil {
		path := opts.ArtefactsPath
		if path == "" {
			path = "/artefacts"
		}
		s.artefacts, s.artefactRoots = path, artefactRoots(path)
		s.routeArtefacts(opts.Artefacts, path)
	}
	s.routeBackup(opts) // GET /_admin/backup
	s.route("/healthz", readOnlyAllow, publicGuard(), readOnly(s, s.serveHealth))
	s.route("/readyz", readOnlyAllow, publicGuard(), readOnly(s, s.serveReady))
	if s.metrics != nil {
		s.route("/metrics", readOnlyAllow, metricsGuard(), readOnly(s, s.metrics.Handler().ServeHTTP))
	}
	s.routeAdmin(opts.Admin)
	s.route("/openapi.json", readOnlyAllow, pageGuard(auth.OpenAPI), readOnly(s, s.serveOpenAPI(opts.Webhooks)))
	// The HTML reference, where docsAnchor points; a resource named docs at the root keeps its path.
	if _, taken := s.mux.Handler(&http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/docs"}}); taken == "" {
		pages := &byGeneration[http.Handler]{build: func() http.Handler {
			docs := openapi.DocsOptions{Webhooks: opts.Webhooks, Events: s.streams}
			if opts.Artefacts != nil && s.artefactsOn() {
				docs.Artefacts, docs.Policy = s.artefacts, opts.Artefacts.Policy()
			}
			return openapi.Docs(s.schema, docs)
		}}
		s.route("/docs", readOnlyAllow, pageGuard(auth.Docs), readOnly(s, func(w http.ResponseWriter, r *http.Request) {
			pages.get(s.schema).ServeHTTP(w, r)
		}))
	}
	if s.sessions != nil {
		s.route(SessionPath, sessionAllow, guard{rule: "signed-in", signedIn: true}, s.serveSession)
	}
	if opts.Console != nil {
		s.routeConsole(opts.Console)
	}
	s.routes = append(s.routes, Route{Pattern: "/{$}", Methods: splitList(readOnlyAllow), Rule: "page:docs"})
	s.mux.HandleFunc("/{$}", s.guarded(pageGuard(auth.Docs), readOnly(s, s.serveIndex)))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		metrics.SetRoute(r, metrics.Unmatched)
		s.unmatched(w, r)
	})
}

// checkOptions checks New's preconditions.
func checkOptions(opts Options) error {
	switch {
	case opts.Schema == nil:
		return restkit.Errorf(restkit.Invalid, "httpapi.New: no Schema")
	case !opts.Schema.Prepared():
		return restkit.Errorf(restkit.Invalid, "httpapi.New: the Schema is not prepared; call its Prepare method first")
	case opts.Store == nil:
		return restkit.Errorf(restkit.Invalid, "httpapi.New: no Store")
	}
	for _, ar := range opts.Admin {
		if !strings.HasPrefix(ar.Pattern, "/_admin/") || (ar.Handler == nil) == (ar.Serve == nil) || ar.Allow == "" {
			return restkit.Errorf(restkit.Invalid, "httpapi.New: admin route %q needs a pattern under /_admin/, one of Handler and Serve, and its verbs", ar.Pattern)
		}
	}
	if sc, ok := opts.Store.(restkit.SchemaChecker); ok {
		if err := sc.Migrated(opts.Schema); err != nil {
			return fmt.Errorf("httpapi.New: %w", err)
		}
	}
	return nil
}

// route registers a pattern with and without a trailing slash, behind its guard
// (every route has one: a route cannot be added without saying who may use it).
// Patterns carry no method: handlers choose, so a wrong verb gets our 405 with our
// Allow header; allow is that header, recorded for Routes.
func (s *Server) route(pattern, allow string, g guard, h http.HandlerFunc) {
	s.routes = append(s.routes, Route{Pattern: pattern, Methods: splitList(allow), Rule: g.rule})
	h = s.gated(g.enabled, deprecated(g.deprecation, s.guarded(g, h)))
	s.mux.HandleFunc(pattern, h)
	s.mux.HandleFunc(pattern+"/{$}", h)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// routeConsole serves the web console under ConsolePath/ (and redirects ConsolePath
// there). Its rule is "console": every caller reaches it, as every caller reaches a
// sign-in page; what it shows comes from calls to the guarded routes, made as the caller.
func (s *Server) routeConsole(h http.Handler) {
	s.console = true
	s.routes = append(s.routes, Route{Pattern: ConsolePath + "/", Methods: []string{http.MethodGet, http.MethodHead, http.MethodPost}, Rule: "console"})
	s.mux.Handle(ConsolePath+"/", h)
	s.mux.Handle(ConsolePath, http.RedirectHandler(ConsolePath+"/", http.StatusMovedPermanently))
}

// underConsole reports whether p is one of the console's paths.
func (s *Server) underConsole(p string) bool {
	return s.console && (p == ConsolePath || strings.HasPrefix(p, ConsolePath+"/"))
}

// dotSegments answers 400 for an artefact path holding literal "." or ".." segments or
// an empty one ("//"). Go's mux would redirect such a path to its cleaned form, and a
// client following that redirect would store under a name it never asked for.
func (s *Server) dotSegments(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; s.underArtefacts(p) {
			if trimmed := strings.TrimSuffix(p, "/"); trimmed != "" && path.Clean(trimmed) != trimmed {
				s.writeError(w, r, false, &restkit.Error{Kind: restkit.Invalid, Message: "invalid artefact path",
					Fields: []restkit.FieldError{{Field: "path", Message: `names must not be empty, "." or ".."`}}})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// underArtefacts reports whether p lies under one of the repository's roots.
func (s *Server) underArtefacts(p string) bool {
	for _, root := range s.artefactRoots {
		if p == root || strings.HasPrefix(p, root+"/") {
			return true
		}
	}
	return false
}

const readOnlyAllow = "GET, HEAD, OPTIONS"

// readOnly serves GET and HEAD with h, OPTIONS with Allow, and 405 otherwise.
func readOnly(s *Server, h http.HandlerFunc) http.HandlerFunc {
	const allow = readOnlyAllow
	return func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			h(w, r)
		case http.MethodOptions:
			w.Header().Set("Allow", allow)
			w.WriteHeader(http.StatusNoContent)
		default:
			s.methodNotAllowed(w, r, false, allow)
		}
	}
}

// envelopeFor reports whether path lies under an API that uses the status envelope,
// so that even its unknown routes answer in its style.
func (s *Server) envelopeFor(path string) bool {
	for _, api := range s.schema.APIs {
		if api.Base != "" && api.Envelope && (path == api.Base || strings.HasPrefix(path, api.Base+"/")) {
			return true
		}
	}
	return false
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, mediaJSON, map[string]string{"status": "ok"})
}

// serveIndex lists what this server serves, so a client can start from /.
func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	type entry struct {
		Path string `json:"path"`
		Kind string `json:"kind"`
	}
	var list []entry
	for _, api := range s.schema.APIs {
		for _, res := range api.Resources {
			if res.Enabled() {
				list = append(list, entry{api.ListPath(res), "resource"})
			}
		}
		for _, n := range api.Nouns {
			if n.Enabled() {
				list = append(list, entry{api.Base + "/" + n.Name, "noun"})
			}
		}
	}
	if s.artefacts != "" && s.artefactsOn() {
		list = append(list, entry{s.artefacts, "artefacts"})
	}
	writeJSON(w, http.StatusOK, mediaJSON, map[string]any{"name": "restkit", "routes": list, "docs": "/docs", "openapi": "/openapi.json"})
}

// methodNotAllowed answers a verb the declaration does not allow, with Allow.
func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request, envelope bool, allow string) {
	w.Header().Set("Allow", allow)
	s.writeError(w, r, envelope, restkit.Errorf(restkit.MethodNotAllowed, "%s is not allowed here; allowed: %s", r.Method, allow))
}

// allowHeader lists the declared verbs plus the automatic HEAD and OPTIONS.
func allowHeader(verbs []string) string {
	out := make([]string, 0, len(verbs)+2)
	for _, v := range verbs {
		out = append(out, v)
		if v == http.MethodGet {
			out = append(out, http.MethodHead)
		}
	}
	return strings.Join(append(out, http.MethodOptions), ", ")
}

// docsAnchor is where text/html requests for a resource or noun are sent.
func docsAnchor(api *restkit.API, name string) string {
	if api.Name == "" {
		return "/docs#" + name
	}
	return "/docs#" + api.Name + "-" + name
}

func escapeKey(v any) string { return url.PathEscape(restkit.Format(v)) }
