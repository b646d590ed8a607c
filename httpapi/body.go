package httpapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/restkit/restkit"
)

// readObject reads a JSON object body of at most limit bytes through the strict parser.
func readObject(w http.ResponseWriter, r *http.Request, limit int64, lim restkit.Limits) (map[string]any, error) {
	data, err := readBody(w, r, limit)
	if err != nil {
		return nil, err
	}
	lim.MaxBytes = int(limit)
	return restkit.ParseObject(data, lim)
}

// readBody reads a JSON body of at most limit bytes (nil when there is none).
// Order of checks: a declared length over the limit (413) before anything is read, then
// the media type when there is a body (415), then size while reading (413); the caller
// parses. A request that carries no body is never refused for its Content-Type: curl
// -d "" and axios send a form type with nothing in it, and the caller answers the
// missing body itself (a 400 where one is required, nothing where it is optional).
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, restkit.Errorf(restkit.TooLarge, "the body is larger than the limit of %d bytes", limit)
	}
	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body := io.Reader(http.MaxBytesReader(w, r.Body, limit))
	if r.ContentLength < 0 { // chunked: look at the first byte to know if there is a body
		var first [1]byte
		n, err := io.ReadFull(body, first[:])
		if n == 0 && err == io.EOF {
			return nil, nil
		}
		if err != nil {
			return nil, readError(err, limit)
		}
		body = io.MultiReader(bytes.NewReader(first[:]), body)
	}
	if err := checkContentType(r); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, readError(err, limit)
	}
	return data, nil
}

// readError is the error of a body that could not be read whole.
func readError(err error, limit int64) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return restkit.Errorf(restkit.TooLarge, "the body is larger than the limit of %d bytes", limit)
	}
	return &restkit.Error{Kind: restkit.Invalid, Message: "the body could not be read", Op: "httpapi.readBody", Err: err}
}

// writeContext is the context of a write whose request has been read in full: not
// cancelled when the client hangs up. A client that half-closes its connection after
// sending (as some do) cancels the request's context yet waits for the answer, and a
// write accepted whole should not be dropped half-way for it.
func writeContext(r *http.Request) context.Context { return context.WithoutCancel(r.Context()) }

// ETags and preconditions.
//
// An ETag is strong and derived from the revision and the creation time, so it changes
// on every write and a record deleted and made again never repeats an old tag. A tag
// names one representation (RFC 9110 §8.8.3): the JSON of a revision is "7-k3x2", its
// XML "7-k3x2-xml", so a cache that stored one never revalidates the other with it.

// xmlTagSuffix ends the ETag of a record's XML representation.
const xmlTagSuffix = "-xml"

// etagOf is the ETag of rec in the representation media (mediaJSON or mediaXML).
func etagOf(rec *restkit.Record, media string) string {
	var created uint64 // 0 for a noun never written (revision 0)
	if !rec.Created.IsZero() {
		created = uint64(rec.Created.UnixNano())
	}
	b := make([]byte, 0, 36)
	b = append(b, '"')
	b = appendBase36(b, uint64(rec.Rev))
	b = append(b, '-')
	b = appendBase36(b, created)
	if media == mediaXML {
		b = append(b, xmlTagSuffix...)
	}
	return string(append(b, '"'))
}

// recordRepresentations are the representations of a record that carry an ETag.
var recordRepresentations = [...]string{mediaJSON, mediaXML}

// listNamesRevision reports whether the If-Match / If-None-Match list names the tag of
// any representation of rec: a client that read the XML may write back with its tag.
// weak also accepts W/ forms of the tags (If-None-Match); without it the comparison is
// strong and a weak tag never matches (If-Match, RFC 9110 §13.1.1).
func listNamesRevision(list string, rec *restkit.Record, weak bool) bool {
	for _, media := range recordRepresentations {
		etag := etagOf(rec, media)
		if etagListMatch(list, etag) || (weak && etagListMatch(list, "W/"+etag)) {
			return true
		}
	}
	return false
}

func appendBase36(b []byte, n uint64) []byte {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	var buf [16]byte
	i := len(buf)
	for {
		i--
		buf[i] = digits[n%36]
		n /= 36
		if n == 0 {
			break
		}
	}
	return append(b, buf[i:]...)
}

// etagListMatch reports whether the If-Match / If-None-Match list names etag ("*" is
// handled by callers). Weak tags never match (strong comparison).
func etagListMatch(list, etag string) bool {
	for len(list) > 0 {
		var tag string
		list = trimOWS(list)
		if list == "" {
			break
		}
		if list[0] == ',' {
			list = list[1:]
			continue
		}
		end := 0
		if list[0] == '"' || (len(list) > 2 && list[:2] == "W/") {
			start := 1
			if list[0] == 'W' {
				start = 3
			}
			end = start
			for end < len(list) && list[end] != '"' {
				end++
			}
			if end < len(list) {
				end++
			}
			tag = list[:end]
		} else {
			for end < len(list) && list[end] != ',' {
				end++
			}
			tag = list[:end]
		}
		if tag == etag {
			return true
		}
		list = list[end:]
	}
	return false
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

// checkWrite tests the write preconditions (RFC 9110 §13) against the current record,
// inside the store's transaction so that the test and the write are one atomic step.
func checkWrite(r *http.Request, cur *restkit.Record) error {
	failed := restkit.Errorf(restkit.PreconditionFailed, "the record has changed (or does not exist); GET it again for its current ETag")
	if im := r.Header.Get("If-Match"); im != "" {
		if cur == nil || (im != "*" && !listNamesRevision(im, cur, false)) {
			return failed
		}
	} else if ius := r.Header.Get("If-Unmodified-Since"); ius != "" && cur != nil {
		if t, err := http.ParseTime(ius); err == nil && cur.Updated.Truncate(time.Second).After(t) {
			return failed
		}
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && cur != nil {
		// If-None-Match compares weakly (RFC 9110 §13.1.2), against every representation.
		if inm == "*" || listNamesRevision(inm, cur, true) {
			return restkit.Errorf(restkit.PreconditionFailed, "the record exists and If-None-Match forbids replacing it")
		}
	}
	return nil
}

// notModified reports whether a GET or HEAD can be answered 304. etag is the tag of
// the representation being served: If-None-Match compares weakly against it alone
// (RFC 9110 §13.1.2), so a JSON tag never gets a 304 for the XML.
func notModified(r *http.Request, rec *restkit.Record, etag string) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		return inm == "*" || etagListMatch(inm, etag) || etagListMatch(inm, "W/"+etag)
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" && !rec.Updated.IsZero() {
		if t, err := http.ParseTime(ims); err == nil && !rec.Updated.Truncate(time.Second).After(t) {
			return true
		}
	}
	return false
}

// setValidators sets ETag, Last-Modified and Cache-Control for one record or state.
func setValidators(h http.Header, rec *restkit.Record, etag, cacheControl string) {
	h.Set("ETag", etag)
	if !rec.Updated.IsZero() {
		h.Set("Last-Modified", rec.Updated.UTC().Format(http.TimeFormat))
	}
	h.Set("Cache-Control", cacheControl)
}

// requireIfMatch answers 428 when a resource declares require_if_match and a write to
// an existing record carries no precondition: the client must show which version it
// read, so it cannot overwrite a change it never saw.
func requireIfMatch(r *http.Request, res *restkit.Resource, cur *restkit.Record) error {
	if !res.RequireIfMatch || cur == nil || r.Header.Get("If-Match") != "" || r.Header.Get("If-Unmodified-Since") != "" {
		return nil
	}
	return restkit.Errorf(restkit.PreconditionRequired, "this %s can only be changed with If-Match: GET it for its ETag and send that", res.Singular)
}
