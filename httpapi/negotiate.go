package httpapi

import (
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/restkit/restkit"
)

// Representations a handler can offer.
const (
	mediaJSON = "application/json"
	mediaXML  = "application/xml"
	mediaCSV  = "text/csv"
	mediaHTML = "text/html"
)

type mediaRange struct {
	typ, sub string
	q        float64
	order    int
}

// negotiate picks the best of offers (in server preference order) for the request's
// Accept header (RFC 9110 §12.5.1): highest q wins, then the more specific range, then
// the server's order. No Accept header, or */*, gives offers[0]. Nothing acceptable is
// a NotAcceptable error listing what is on offer.
func negotiate(r *http.Request, offers ...string) (string, error) {
	accept := r.Header.Values("Accept")
	if len(accept) == 0 {
		return offers[0], nil
	}
	var ranges []mediaRange
	for _, line := range accept {
		for _, part := range strings.Split(line, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			mt, params, err := mime.ParseMediaType(part)
			if err != nil {
				continue // RFC 9110: ignore what cannot be parsed
			}
			typ, sub, ok := strings.Cut(mt, "/")
			if !ok {
				continue
			}
			if typ == "text" && sub == "xml" { // an older name of application/xml
				typ = "application"
			}
			q := 1.0
			if qs, ok := params["q"]; ok {
				if q, err = strconv.ParseFloat(qs, 64); err != nil || q < 0 || q > 1 {
					continue
				}
			}
			ranges = append(ranges, mediaRange{typ: typ, sub: sub, q: q, order: len(ranges)})
		}
	}
	if len(ranges) == 0 {
		return offers[0], nil
	}
	best, bestQ, bestSpec := "", 0.0, -1
	for _, offer := range offers {
		ot, os, _ := strings.Cut(offer, "/")
		q, spec := -1.0, -1
		for _, mr := range ranges {
			s := -1
			switch {
			case mr.typ == ot && (mr.sub == os || matchesSuffix(mr.sub, os)):
				s = 2
			case mr.typ == ot && mr.sub == "*":
				s = 1
			case mr.typ == "*" && mr.sub == "*":
				s = 0
			}
			if s > spec { // the most specific matching range decides the offer's q
				q, spec = mr.q, s
			}
		}
		if q > bestQ || (q == bestQ && q > 0 && spec > bestSpec) {
			best, bestQ, bestSpec = offer, q, spec
		}
	}
	if best == "" {
		sorted := append([]string(nil), offers...)
		sort.Strings(sorted)
		return "", restkit.Errorf(restkit.NotAcceptable, "none of the requested media types is available; this offers %s", strings.Join(sorted, ", "))
	}
	return best, nil
}

// addVary adds name to the Vary header, keeping what is there (CORS's Origin) in one
// field line.
func addVary(h http.Header, name string) {
	have := h.Values("Vary")
	for _, line := range have {
		for _, item := range splitList(line) {
			if item == "*" || strings.EqualFold(item, name) {
				return
			}
		}
	}
	if len(have) == 0 {
		h.Set("Vary", name)
		return
	}
	h.Set("Vary", strings.Join(have, ", ")+", "+name)
}

// matchesSuffix lets application/problem+json (and other +json types) stand for our
// JSON. +xml is not matched: browsers ask for application/xhtml+xml, which is not ours.
func matchesSuffix(asked, offered string) bool {
	return offered == "json" && strings.HasSuffix(asked, "+json")
}

// checkContentType accepts JSON bodies: application/json or any +json type (such as
// application/merge-patch+json), with no charset or charset utf-8.
func checkContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return restkit.Errorf(restkit.UnsupportedMedia, "the body needs Content-Type: application/json")
	}
	mt, params, err := mime.ParseMediaType(ct)
	if mt == "application/json-patch+json" {
		return restkit.Errorf(restkit.UnsupportedMedia, "JSON Patch (RFC 6902) is not supported; send a JSON Merge Patch as application/merge-patch+json")
	}
	if err != nil || (mt != mediaJSON && !(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))) {
		return restkit.Errorf(restkit.UnsupportedMedia, "the body must be application/json, not %q", ct)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return restkit.Errorf(restkit.UnsupportedMedia, "JSON bodies must be UTF-8, not charset %q", cs)
	}
	return nil
}
