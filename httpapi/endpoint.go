package httpapi

import (
	"net/http"

	"github.com/restkit/restkit"
)

// endpoint is what the handlers of a resource and of a noun share: the API they
// belong to, the name the docs anchor them by, and the XML element of one item.
type endpoint struct {
	s    *Server
	api  *restkit.API
	name string // the path segment the reference page anchors it by: "cars", "led"
	elem string // XML element of one item: "car", "led"
}

// fail renders err in the API's error style (problem+json or the envelope).
func (e *endpoint) fail(w http.ResponseWriter, r *http.Request, err error) {
	e.s.writeError(w, r, e.api.Envelope, err)
}

// negotiate picks the representation of one item, or redirects a browser (text/html)
// to the reference page; false means the response is already written. Whatever is
// answered from here on (the representation, its ETag, a 304, the 303, a 406) depends
// on Accept, so it carries Vary: Accept (RFC 9110 §12.5.5).
func (e *endpoint) negotiate(w http.ResponseWriter, r *http.Request, offers ...string) (string, bool) {
	addVary(w.Header(), "Accept")
	media, err := negotiate(r, offers...)
	if err != nil {
		e.fail(w, r, err)
		return "", false
	}
	if media == mediaHTML {
		http.Redirect(w, r, docsAnchor(e.api, e.name), http.StatusSeeOther)
		return "", false
	}
	return media, true
}

// writeItem writes one record or noun state as JSON (enveloped when the API says
// so) or XML.
func (e *endpoint) writeItem(w http.ResponseWriter, status int, media string, v view, rec *restkit.Record) {
	e.writeExpanded(w, status, media, v, rec, nil, nil)
}

// writeExpanded is writeItem with what expand= added to the record (nil: nothing).
func (e *endpoint) writeExpanded(w http.ResponseWriter, status int, media string, v view, rec *restkit.Record, ex expanded, exps []*expansion) {
	pb := getBody()
	buf := *pb
	if media == mediaXML {
		buf = append(buf, xmlHeader...)
		buf = v.appendXMLExpanded(buf, e.elem, rec, ex, exps)
		writePooled(w, status, "application/xml; charset=utf-8", pb, append(buf, '\n'))
		return
	}
	if e.api.Envelope {
		buf = append(buf, `{"status":"ok","result":`...)
		buf = append(v.appendExpanded(buf, rec, ex, exps), '}')
	} else {
		buf = v.appendExpanded(buf, rec, ex, exps)
	}
	writePooled(w, status, mediaJSON, pb, append(buf, '\n'))
}
