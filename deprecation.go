package restkit

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Deprecation announces that an API or a resource is going away, as RFC 9745 and
// RFC 8594 let a server say it: every response carries
//
//	Deprecation: @<Since, in Unix seconds>        (RFC 9745 §2: a Structured Field Date)
//	Sunset: <Sunset, as an HTTP-date>             (RFC 8594 §3), when set
//	Link: <Successor>; rel="successor-version"   (RFC 5829), when set
//
// and OpenAPI marks its operations and schemas deprecated. Since is when the
// deprecation took effect (the zero time: "already deprecated", written @0); Sunset
// when the API or resource is expected to stop answering.
type Deprecation struct {
	Since     time.Time
	Sunset    time.Time // zero: no date announced
	Successor string    // a path on this server (/v2) or an absolute http(s) URL; "" for none
}

// DeprecationOf returns the deprecation of a resource of the API: its own, else
// the API's; nil when neither is deprecated. A nil res asks for the API's (a noun).
func (a *API) DeprecationOf(res *Resource) *Deprecation {
	if res != nil && res.Deprecated != nil {
		return res.Deprecated
	}
	return a.Deprecated
}

// Header is the value of the Deprecation header: a Structured Field Date (RFC 9651
// §3.3.7), "@" and the Unix time in seconds.
func (d *Deprecation) Header() string {
	var secs int64
	if !d.Since.IsZero() {
		secs = d.Since.Unix()
	}
	return "@" + strconv.FormatInt(secs, 10)
}

// SunsetHeader is the value of the Sunset header (an HTTP-date, RFC 9110 §5.6.7), or
// "" when no sunset is announced.
func (d *Deprecation) SunsetHeader() string {
	if d.Sunset.IsZero() {
		return ""
	}
	return d.Sunset.UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT")
}

// LinkHeader is the Link header value that names the successor (RFC 8288, with the
// successor-version relation of RFC 5829), or "" when there is none.
func (d *Deprecation) LinkHeader() string {
	if d.Successor == "" {
		return ""
	}
	return "<" + d.Successor + `>; rel="successor-version"`
}

// CheckSuccessor says why s cannot name a successor, or "": it must be a path on
// this server (starting with one /) or an absolute http or https URL, with nothing a
// Link header would have to escape.
func CheckSuccessor(s string) string {
	const want = "must be a path such as /v2 or an absolute http(s) URL"
	if s == "" || strings.ContainsAny(s, "<> \t\"\\") || strings.ContainsFunc(s, isControlRune) {
		return want
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return want
	case strings.HasPrefix(s, "/"):
		if strings.HasPrefix(s, "//") || u.Host != "" || u.Scheme != "" {
			return want
		}
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return want
	}
	return ""
}

func isControlRune(r rune) bool { return r < 0x20 || r == 0x7f }

// prepareDeprecation checks a deprecation (nil: none).
func prepareDeprecation(d *Deprecation, at string, add addFunc) {
	if d == nil {
		return
	}
	if d.Successor != "" {
		if msg := CheckSuccessor(d.Successor); msg != "" {
			add(at+".successor", "successor %s, not %q", msg, d.Successor)
		}
	}
	if !d.Sunset.IsZero() && !d.Since.IsZero() && d.Sunset.Before(d.Since) {
		add(at+".sunset", "the sunset %s comes before the deprecation's since %s", d.Sunset.Format(time.DateOnly), d.Since.Format(time.DateOnly))
	}
}

// prepareRenames checks the renamed_from of each field: a valid name, not the field's
// own, not another declared field (that one still holds its data), and not claimed by
// two fields.
func prepareRenames(fields []*Field, byName map[string]*Field, at string, add addFunc) {
	claimed := map[string]string{}
	for _, f := range fields {
		old := f.RenamedFrom
		if old == "" {
			continue
		}
		fat := at + ".fields." + f.Name + ".renamed_from"
		switch {
		case !nameRE.MatchString(old):
			add(fat, "renamed_from must be a field name matching %s, got %q", nameRE, old)
		case old == f.Name:
			add(fat, "renamed_from names the field itself")
		case byName[old] != nil:
			add(fat, "renamed_from %q is still declared as a field; remove that field, or rename from another", old)
		case claimed[old] != "":
			add(fat, "renamed_from %q is also %s's; only one field can take over its data", old, claimed[old])
		default:
			claimed[old] = f.Name
		}
	}
}
