package httpapi

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strconv"
	"sync"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/recordjson"
)

// view says how records are rendered (recordjson.View); the XML and CSV writers of
// this package add their own methods.
type view struct{ recordjson.View }

func fullView(fields []*restkit.Field, timestamps bool) view {
	return view{recordjson.Full(fields, timestamps)}
}

// appendRecord appends the JSON object of one record.
func (v view) appendRecord(b []byte, rec *restkit.Record) []byte { return v.Append(b, rec) }

// appendExpanded is appendRecord with what expand= added (nil: nothing).
func (v view) appendExpanded(b []byte, rec *restkit.Record, ex expanded, exps []*expansion) []byte {
	b, _ = v.AppendMembers(append(b, '{'), rec)
	b = appendExpand(b, ex, exps)
	return append(b, '}')
}

var (
	appendValue  = recordjson.AppendValue
	appendString = recordjson.AppendString
)

// writeJSON writes any Go value as JSON (for small non-record bodies: problems, indexes).
func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		body = []byte(`{"status":500,"title":"Internal Server Error","detail":"internal error"}`)
		status = http.StatusInternalServerError
	}
	body = append(body, '\n')
	writeBody(w, status, contentType, body)
}

// bodies holds the buffers response bodies are built in. A list page grows to several
// KiB (tens with expand=), and building it in a buffer kept from an earlier response
// saves the allocation and every regrowth on the way. A buffer is free again once its
// body is written: io.Writer's contract forbids Write to keep the bytes, and every
// ResponseWriter under ours (net/http's, the console's recorder, httptest's) copies them.
var bodies = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooledBody bounds what bodies keeps, so one huge response does not pin its buffer.
const maxPooledBody = 256 << 10

func getBody() *[]byte { return bodies.Get().(*[]byte) }

// writePooled writes body, built in *buf from getBody, and returns buf to the pool.
func writePooled(w http.ResponseWriter, status int, contentType string, buf *[]byte, body []byte) {
	writeBody(w, status, contentType, body)
	if cap(body) <= maxPooledBody {
		*buf = body[:0]
		bodies.Put(buf)
	}
}

// autoLength is the largest body writeBody leaves net/http to count: a handler that
// writes its whole body at once and returns gets Content-Length from net/http
// without declaring it ("if the total size of all written data is under a few KB",
// http.ResponseWriter; 2048 bytes for HTTP/1.1, 4096 for HTTP/2). Not declaring it
// keeps the header map of a typical item response (eight headers) within the eight
// entries of a Go map's first group: one header more made every such response grow
// its map to a table, and net/http clones the map when the header is written.
const autoLength = 2048

func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	if len(body) > autoLength {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// wrapEnvelope wraps a JSON document as {"status":"ok","result":…}.
func wrapEnvelope(b []byte, doc []byte) []byte {
	b = append(b, `{"status":"ok","result":`...)
	b = append(b, doc...)
	return append(b, '}')
}

// appendXMLRecord appends <elem><field>value</field>…</elem>. A null is an empty
// element with nil="true", so it differs from an empty string.
func (v view) appendXMLRecord(b []byte, elem string, rec *restkit.Record) []byte {
	return v.appendXMLExpanded(b, elem, rec, nil, nil)
}

// appendXMLExpanded is appendXMLRecord with what expand= added (nil: nothing).
func (v view) appendXMLExpanded(b []byte, elem string, rec *restkit.Record, ex expanded, exps []*expansion) []byte {
	b = append(b, '<')
	b = append(b, elem...)
	b = append(b, '>')
	for _, f := range v.Fields {
		val, ok := rec.Values[f.Name]
		if !ok && !f.Nullable {
			continue
		}
		b = appendXMLField(b, f, val)
	}
	if v.Created {
		b = appendXMLElem(b, "created", rec.Created)
	}
	if v.Updated {
		b = appendXMLElem(b, "updated", rec.Updated)
	}
	b = appendXMLExpand(b, ex, exps)
	b = append(b, "</"...)
	b = append(b, elem...)
	return append(b, '>')
}

// appendXMLField appends a field's element: a list (an array, a many relation) holds
// one child element per item — <item>, or the target's singular for a relation — and
// a json value is its JSON text.
func appendXMLField(b []byte, f *restkit.Field, val any) []byte {
	list, ok := val.([]any)
	if !ok {
		return appendXMLElem(b, f.Name, val)
	}
	item := "item"
	if f.Type == restkit.TypeRelation {
		item = f.Target().Singular
	}
	b = append(b, '<')
	b = append(b, f.Name...)
	b = append(b, '>')
	for _, e := range list {
		b = appendXMLElem(b, item, e)
	}
	b = append(b, "</"...)
	b = append(b, f.Name...)
	return append(b, '>')
}

func appendXMLElem(b []byte, name string, val any) []byte {
	b = append(b, '<')
	b = append(b, name...)
	if val == nil {
		return append(b, ` nil="true"/>`...)
	}
	b = append(b, '>')
	var buf bytes.Buffer
	_ = xml.EscapeText(&buf, []byte(restkit.Format(val)))
	b = append(b, buf.Bytes()...)
	b = append(b, "</"...)
	b = append(b, name...)
	return append(b, '>')
}

const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"
