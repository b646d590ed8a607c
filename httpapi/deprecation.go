package httpapi

import (
	"net/http"

	"github.com/restkit/restkit"
)

// deprecated adds a deprecated API's or resource's headers to every answer of h —
// records, lists, errors, 304s, refusals of its guard — before h writes anything:
//
//	Deprecation: @1719446400                              RFC 9745 §2
//	Sunset: Wed, 30 Jun 2027 00:00:00 GMT                 RFC 8594 §3
//	Link: </v2>; rel="successor-version"                  RFC 5829 §3.4, in RFC 8288's Link
//
// The Link is added, not set: a list's paging links (rel="next", …) join it in
// further Link fields. A nil d returns h itself.
func deprecated(d *restkit.Deprecation, h http.HandlerFunc) http.HandlerFunc {
	if d == nil {
		return h
	}
	deprecation, sunset, link := d.Header(), d.SunsetHeader(), d.LinkHeader()
	return func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Set("Deprecation", deprecation)
		if sunset != "" {
			hdr.Set("Sunset", sunset)
		}
		if link != "" {
			hdr.Add("Link", link)
		}
		h(w, r)
	}
}
