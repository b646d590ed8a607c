package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/auth"
	"github.com/restkit/restkit/httpapi"
	"github.com/restkit/restkit/status"
)

// reply is what the API answered to one in-process call.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// maxReply bounds what one call may answer into memory: a page of records (at most
// max_page_size of them) or a history; downloads and CSV exports are streamed, not
// read here.
const maxReply = 16 << 20

// recorder collects a reply, up to maxReply bytes.
type recorder struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }
func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *recorder) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if w.buf.Len()+len(b) > maxReply {
		return 0, fmt.Errorf("web: the API's answer is over %d bytes", maxReply)
	}
	return w.buf.Write(b)
}

// apiRequest builds the request the console sends to the API for the visit r: the
// caller's credentials, address and request id travel with it (so the API decides as
// it would for the caller, counts the caller's rate limit, and logs the same id);
// nothing else of r does. headers are name, value pairs.
func apiRequest(r *http.Request, method, target string, body io.Reader, headers ...string) *http.Request {
	in, err := http.NewRequestWithContext(r.Context(), method, target, body)
	if err != nil {
		in, _ = http.NewRequestWithContext(r.Context(), method, "/", nil) // target is built by the console; not expected
	}
	in.RemoteAddr, in.TLS, in.Host, in.Proto = r.RemoteAddr, r.TLS, r.Host, r.Proto
	for _, name := range []string{"Authorization", "Cookie", "X-Forwarded-For", "X-Forwarded-Proto", "X-Request-Id"} {
		if vs := r.Header.Values(name); len(vs) > 0 {
			in.Header[http.CanonicalHeaderKey(name)] = vs
		}
	}
	in.Header.Set("Accept", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		in.Header.Set(headers[i], headers[i+1])
	}
	return in
}

// call sends one request to the API for the visit r and returns its reply.
func (c *console) call(r *http.Request, method, target string, body io.Reader, headers ...string) *reply {
	in := apiRequest(r, method, target, body, headers...)
	rec := &recorder{header: http.Header{}}
	c.opts.API.ServeHTTP(rec, in)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return &reply{status: rec.status, header: rec.header, body: rec.buf.Bytes()}
}

// callJSON sends a JSON body (nil: none) for a form posted to the console (r's form
// is parsed already), with the CSRF token the form carries, never the session's own:
// the API, which refuses a cookie write without the right token, is what checks that
// the form came from a page of the console. Sending v's token instead would let any
// form posted with the cookie through, the token in it unread.
func (c *console) callJSON(r *http.Request, v *visit, method, target string, body any, headers ...string) *reply {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
		headers = append(headers, "Content-Type", "application/json")
	}
	if v.csrf() != "" { // signed in: the cookie authenticates the call
		headers = append(headers, httpapi.CSRFHeader, r.PostFormValue("csrf"))
	}
	return c.call(r, method, target, rd, headers...)
}

// ok reports a 2xx.
func (rp *reply) ok() bool { return rp.status >= 200 && rp.status < 300 }

// problem is an error body: RFC 9457, or the status envelope of an API that uses it.
type problem struct {
	Title   string `json:"title"`
	Detail  string `json:"detail"`
	Message string `json:"message"` // the envelope's
	Errors  []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

// err turns a failed reply into a restkit error with its kind, message and fields,
// as the API said them.
func (rp *reply) err() error {
	var p problem
	_ = json.Unmarshal(rp.body, &p)
	msg := p.Detail
	if msg == "" {
		msg = p.Message
	}
	if msg == "" {
		msg = p.Title
	}
	if msg == "" {
		msg = http.StatusText(rp.status)
	}
	e := &restkit.Error{Kind: status.Kind(rp.status), Message: msg}
	for _, fe := range p.Errors {
		e.Fields = append(e.Fields, restkit.FieldError{Field: fe.Field, Message: fe.Message})
	}
	return e
}

// decode reads a successful reply's JSON into out, unwrapping the status envelope
// ({"status":"ok","result":…}) of an API that uses it.
func (rp *reply) decode(envelope bool, out any) error {
	body := rp.body
	if envelope {
		var env struct {
			Result json.RawMessage `json:"result"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			return restkit.Wrap("web", err)
		}
		body = env.Result
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber() // integers keep every digit
	if err := d.Decode(out); err != nil {
		return restkit.Wrap("web", err)
	}
	return nil
}

// session is the signed-in caller, as GET /_session tells it.
type session struct {
	User  string   `json:"user"`
	Roles []string `json:"roles"`
	Key   string   `json:"key"`
	CSRF  string   `json:"csrf"`
}

// csrf is the token every form of the visit carries ("" when no one is signed in by
// cookie).
func (v *visit) csrf() string {
	if v == nil || v.Session == nil {
		return ""
	}
	return v.Session.CSRF
}

// whoAmI asks the API who the caller of r is: nil when no one is signed in.
func (c *console) whoAmI(r *http.Request) (*session, error) {
	rp := c.call(r, http.MethodGet, httpapi.SessionPath, nil)
	if rp.status == http.StatusUnauthorized {
		return nil, nil
	}
	if !rp.ok() {
		return nil, rp.err()
	}
	var s session
	if err := rp.decode(false, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// may reports whether the visit's caller may act under acc: always without auth.
// It only decides what the page offers; the API decides what is done.
func (c *console) may(v *visit, acc func(*auth.Authority) restkit.Access, act auth.Action) bool {
	a := c.opts.Auth
	if a == nil {
		return true
	}
	var p *auth.Principal
	if v.Session != nil {
		p = &auth.Principal{User: v.Session.User, Roles: v.Session.Roles, KeyID: v.Session.Key}
	}
	return a.Decide(p, acc(a), act) == auth.Allowed
}

// pathJoin joins a base path and escaped segments.
func pathJoin(base string, segments ...string) string {
	var b strings.Builder
	b.WriteString(base)
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(escapeSegment(s))
	}
	return b.String()
}
