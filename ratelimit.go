package restkit

import "strings"

// RateLimit is a token bucket for the requests of one client: at most Burst at once,
// then Rate per second. The zero RateLimit (written "off") turns limiting off where
// it is set; a nil *RateLimit inherits (resource from its API, API from the schema).
type RateLimit struct {
	Rate  float64 // requests per second
	Burst int
}

// Off reports whether r turns limiting off.
func (r *RateLimit) Off() bool { return r != nil && (r.Rate <= 0 || r.Burst < 1) }

// RateLimitAt returns the rate limit that applies to a request path, or nil when no
// limit does: the resource's or noun's API (longest base first) decides; within it a
// resource's own limit wins over its API's, which wins over the schema's default.
// Scope names the bucket the limit counts in: the resource's list path for a
// resource's own limit (its items count in the same bucket), the API's base for an API's, "" for the default. /healthz, /readyz and
// /metrics are never limited.
func (s *Schema) RateLimitAt(path string) (limit *RateLimit, scope string) {
	switch strings.TrimSuffix(path, "/") {
	case "/healthz", "/readyz", "/metrics":
		// Probes and scrapes come from a few addresses many times a minute: limiting
		// them would take a healthy node out of its load balancer.
		return nil, ""
	}
	under := func(p, prefix string) bool { return p == prefix || strings.HasPrefix(p, prefix+"/") }
	var api *API
	for _, a := range s.APIs {
		matched := a.Base != "" && under(path, a.Base)
		if a.Base == "" {
			for _, r := range a.Resources {
				matched = matched || under(path, a.ListPath(r)) || under(path, a.ItemsPath(r))
			}
			for _, n := range a.Nouns {
				matched = matched || under(path, "/"+n.Name)
			}
		}
		if matched && (api == nil || len(a.Base) > len(api.Base)) {
			api = a
		}
	}
	limit = s.RateLimit
	if api != nil {
		if api.RateLimit != nil {
			limit, scope = api.RateLimit, "api:"+api.Base
		}
		for _, r := range api.Resources {
			// One bucket for the list and the items, named after the list.
			if r.RateLimit != nil && (under(path, api.ListPath(r)) || under(path, api.ItemsPath(r))) {
				limit, scope = r.RateLimit, "resource:"+api.ListPath(r)
			}
		}
	}
	if limit == nil || limit.Off() {
		return nil, ""
	}
	return limit, scope
}
