package httpapi

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// CORS is a cross-origin allow-list. Without one (the default) no response carries
// any Access-Control-* header, so browsers keep other origins' pages out.
type CORS struct {
	Origins []string // exact origins allowed, such as https://app.example
	Methods []string // verbs allowed cross-origin; empty: whatever each route allows
	Headers []string // request headers allowed; empty: Content-Type, If-Match, If-None-Match, Authorization
	MaxAge  int      // seconds a browser may cache a preflight's answer; 0: not said
}

// corsExposed are the response headers a cross-origin script may read beyond the
// CORS-safelisted ones.
const corsExposed = "ETag, Location, Link, X-Total-Count, X-Artefact-Version, Content-Range, Content-Disposition, Repr-Digest, Retry-After, Allow, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Deprecation, Sunset"

var corsDefaultHeaders = []string{"Content-Type", "If-Match", "If-None-Match", "Authorization"}

// cors answers preflights from listed origins and marks the responses to them as
// readable by that origin. A request from any other origin is served as usual with no
// CORS headers, which is what makes the browser refuse it.
func (s *Server) cors(next http.Handler) http.Handler {
	c := s.corsCfg
	if c == nil || len(c.Origins) == 0 {
		return next
	}
	headers := c.Headers
	if len(headers) == 0 {
		headers = corsDefaultHeaders
	}
	allowHeaders := strings.Join(headers, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if preflight {
			h.Add("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
		} else {
			h.Add("Vary", "Origin")
		}
		if !slices.Contains(c.Origins, origin) {
			next.ServeHTTP(w, r)
			return
		}
		if !preflight {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Expose-Headers", corsExposed)
			next.ServeHTTP(w, r)
			return
		}
		// The route's own answer to OPTIONS says whether it exists and what it allows.
		probe := &headerProbe{header: http.Header{}}
		next.ServeHTTP(probe, r)
		if probe.status != http.StatusNoContent || probe.header.Get("Allow") == "" {
			copyHeader(h, probe.header)
			w.WriteHeader(probe.status)
			_, _ = w.Write(probe.body)
			return
		}
		allow := probe.header.Get("Allow")
		methods := splitList(allow)
		if len(c.Methods) > 0 {
			methods = slices.DeleteFunc(methods, func(m string) bool { return !slices.Contains(c.Methods, m) })
		}
		methods = slices.DeleteFunc(methods, func(m string) bool { return m == http.MethodOptions })
		h.Set("Allow", allow)
		want := r.Header.Get("Access-Control-Request-Method")
		ok := slices.Contains(methods, want)
		for _, name := range splitList(r.Header.Get("Access-Control-Request-Headers")) {
			if !slices.ContainsFunc(headers, func(a string) bool { return strings.EqualFold(a, name) }) {
				ok = false
			}
		}
		if ok {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", strings.Join(methods, ", "))
			h.Set("Access-Control-Allow-Headers", allowHeaders)
			if c.MaxAge > 0 {
				h.Set("Access-Control-Max-Age", strconv.Itoa(c.MaxAge))
			}
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// corsPreflight reports whether r is a CORS preflight (OPTIONS with
// Access-Control-Request-Method) from an allowed origin: the one request a guarded
// route answers without credentials.
func (s *Server) corsPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && s.corsCfg != nil && r.Header.Get("Access-Control-Request-Method") != "" &&
		slices.Contains(s.corsCfg.Origins, r.Header.Get("Origin"))
}

// headerProbe records what a handler answers, for a preflight to inspect.
type headerProbe struct {
	header http.Header
	status int
	body   []byte
}

func (p *headerProbe) Header() http.Header { return p.header }
func (p *headerProbe) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}
func (p *headerProbe) Write(b []byte) (int, error) {
	p.WriteHeader(http.StatusOK)
	p.body = append(p.body, b...)
	return len(b), nil
}

func copyHeader(dst, src http.Header) {
	for k, vs := range src {
		dst[k] = vs
	}
}

// splitList splits a comma-separated header value into its trimmed, non-empty items.
func splitList(v string) []string {
	var out []string
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
