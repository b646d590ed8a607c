package openapi

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/artefact"
)

//go:embed docs.html
var docsHTML string

var docsTemplate = template.Must(template.New("docs").Parse(docsHTML))

// DocsOptions configure the HTML reference page.
type DocsOptions struct {
	// Artefacts is the URL path of the artefact repository, "" when none is served.
	Artefacts string
	// Policy holds the repository's limits, shown with the artefact routes.
	Policy artefact.Policy
	// Events says that every resource and noun has its event stream.
	Events bool
	// ServerURL prefixes the curl examples, e.g. "http://127.0.0.1:8080". Empty:
	// Docs takes it from each request's Host; RenderDocs uses http://localhost:8080.
	ServerURL string
	// Webhooks are the webhook event types some endpoint receives
	// (config.Config.WebhookEvents), listed with the signature headers.
	Webhooks []string
}

// Docs serves the reference page: GET and HEAD, text/html, no scripts, no external
// resources (its Content-Security-Policy allows only the inline style).
func Docs(s *restkit.Schema, o DocsOptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		opts := o
		if opts.ServerURL == "" {
			opts.ServerURL = requestURL(r)
		}
		var buf bytes.Buffer
		if err := RenderDocs(&buf, s, opts); err != nil {
			http.Error(w, "the reference page could not be rendered", http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Length", strconv.Itoa(buf.Len()))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(buf.Bytes())
		}
	})
}

// requestURL is the scheme and host a client used to reach the server. The Host header
// is checked to be a plain host[:port], so an example never carries injected text.
func requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if host == "" || strings.ContainsAny(host, "/?#@ '\"\\") {
		host = "localhost:8080"
	}
	if u, err := url.Parse(scheme + "://" + host); err != nil || u.Host != host {
		host = "localhost:8080"
	}
	return scheme + "://" + host
}

// RenderDocs writes the HTML reference page of a prepared schema.
func RenderDocs(w io.Writer, s *restkit.Schema, o DocsOptions) error {
	if o.ServerURL == "" {
		o.ServerURL = "http://localhost:8080"
	}
	o.ServerURL = strings.TrimSuffix(o.ServerURL, "/")
	return docsTemplate.Execute(w, buildPage(s, o))
}

// The page's view model: everything the template shows, worked out here.
type (
	page struct {
		Server    string
		APIs      []*apiView
		Artefacts *artefactsView
		Auth      *authView     // nil: the API is open
		Relations template.HTML // the relation graph (relationGraph); "" without relations
		Webhooks  []webhookView
	}
	webhookView struct {
		Type, Data string
	}
	authView struct {
		Realm string
	}
	apiView struct {
		ID, Title, Base string
		Envelope        bool
		Resources       []*resourceView
		Nouns           []*nounView
	}
	resourceView struct {
		ID, Name, Path, Description string
		Key, KeySource              string
		Fields                      []fieldView
		Timestamps                  bool
		Collection, Item            []*opView
		Params                      []paramView
		History                     []*opView
		HistoryKeep                 int
		Access                      string // who may read, write, delete; "" without auth
		OwnerField                  string
		Deprecated                  string // what its deprecation announces; "" when not deprecated
	}
	nounView struct {
		ID, Name, Path, Description string
		Fields                      []fieldView
		Ops                         []*opView
		Access                      string
		Deprecated                  string
	}
	fieldView struct {
		Name, Type, Description string
		Constraints             []string
	}
	opView struct {
		Method, Path, Meaning string
		Statuses              []statusView
		Curl                  string
	}
	statusView struct {
		Code int
		Text string
	}
	paramView struct {
		Name, Meaning, Example string
	}
	artefactsView struct {
		Path     string
		Routes   []routeView
		Limits   []string
		Examples []exampleView
	}
	routeView   struct{ Method, Path, Success, Notes string }
	exampleView struct {
		What, Command string
	}
)

func anchor(api *restkit.API, name string) string {
	if api.Name == "" {
		return name
	}
	return api.Name + "-" + name
}

func buildPage(s *restkit.Schema, o DocsOptions) *page {
	p := &page{Server: o.ServerURL, Relations: relationGraph(s)}
	for _, api := range s.APIs {
		a := &apiView{ID: "api-" + api.Name, Title: api.Base, Base: api.Base, Envelope: api.Envelope}
		if api.Name == "" {
			a.ID, a.Title = "api-root", "/ (root)"
		}
		for _, r := range api.Resources {
			if !r.Enabled() { // switched off (a capability)
				continue
			}
			d := buildResource(api, r, o.ServerURL)
			if o.Events && r.Allows(restkit.GET, false) {
				d.Collection = append(d.Collection, streamView(api.ListPath(r), o.ServerURL,
					"follow every create, update and delete as Server-Sent Events (id: seq, event: created|updated|deleted, data: the record; the key alone for a delete); "+
						"list filters apply; resume with Last-Event-ID or ?since=; an id the log no longer keeps gets event: reset. Also GET "+api.ListPath(r)+" with Accept: text/event-stream"))
			}
			if o.Events && r.Allows(restkit.GET, true) {
				d.Item = append(d.Item, streamView(api.ItemsPath(r)+"/{"+r.Key+"}", "", "follow the changes of one record as Server-Sent Events; resume with Last-Event-ID or ?since="))
			}
			if s.Auth != nil {
				d.Access = accessText(s.Auth.Resolve(r.Access, api.Access))
				d.OwnerField = r.OwnerField
			}
			a.Resources = append(a.Resources, d)
		}
		for _, n := range api.Nouns {
			if !n.Enabled() {
				continue
			}
			d := buildNoun(api, n, o.ServerURL)
			if o.Events {
				d.Ops = append(d.Ops, streamView(api.Base+"/"+n.Name, o.ServerURL, "follow every change of the state as Server-Sent Events; resume with Last-Event-ID"))
			}
			if s.Auth != nil {
				d.Access = accessText(s.Auth.Resolve(n.Access, api.Access))
			}
			a.Nouns = append(a.Nouns, d)
		}
		p.APIs = append(p.APIs, a)
	}
	if o.Artefacts != "" {
		p.Artefacts = buildArtefacts(o)
	}
	for _, typ := range o.Webhooks {
		p.Webhooks = append(p.Webhooks, webhookView{Type: typ, Data: webhookData(s, typ)})
	}
	if s.Auth != nil {
		p.Auth = &authView{Realm: s.Auth.Realm}
		authorizeCurls(p)
	}
	return p
}

// accessText says in words who may do what.
func accessText(a restkit.Access) string {
	roles := func(rs []string) string {
		switch {
		case len(rs) == 0:
			return "nobody"
		case slices.Contains(rs, restkit.AnyRole):
			return "any signed-in caller"
		}
		return "roles " + strings.Join(rs, ", ")
	}
	out := "read: " + roles(a.Read)
	if a.Anonymous == restkit.AnonymousRead {
		out = "read: anyone, without credentials"
	}
	return out + "; write: " + roles(a.Write) + "; delete: " + roles(a.Delete) + "."
}

// authorizeCurls adds the bearer key to every curl example of a page whose API
// needs credentials.
func authorizeCurls(p *page) {
	const with = `curl -H "Authorization: Bearer $RESTKIT_TOKEN" `
	fix := func(ops []*opView) {
		for _, o := range ops {
			o.Curl = strings.Replace(o.Curl, "curl ", with, 1)
		}
	}
	for _, a := range p.APIs {
		for _, r := range a.Resources {
			fix(r.Collection)
			fix(r.Item)
			fix(r.History)
		}
		for _, n := range a.Nouns {
			fix(n.Ops)
		}
	}
	if p.Artefacts != nil {
		for i := range p.Artefacts.Examples {
			p.Artefacts.Examples[i].Command = strings.Replace(p.Artefacts.Examples[i].Command, "curl ", with, 1)
		}
	}
}

// streamView is the GET of path/events; server "" leaves the curl example out.
func streamView(path, server, meaning string) *opView {
	v := &opView{Method: "GET", Path: path + "/events", Meaning: meaning, Statuses: statuses(200, 400)}
	if server != "" || !strings.Contains(path, "{") {
		v.Curl = "curl -N " + server + path + "/events"
	}
	return v
}

var statusMeaning = map[int]string{
	200: "OK",
	201: "created",
	204: "done, no body",
	304: "not modified (If-None-Match matched the ETag)",
	400: "invalid request: every failing field or parameter is named",
	404: "not found",
	405: "verb not allowed here (see Allow)",
	406: "no acceptable representation",
	409: "conflict: the key or a unique value is taken",
	412: "If-Match does not match the current ETag",
	413: "body over the size limit",
	415: "body is not JSON",
	428: "If-Match is required",
}

func statuses(codes ...int) []statusView {
	out := make([]statusView, len(codes))
	for i, c := range codes {
		out[i] = statusView{c, statusMeaning[c]}
	}
	return out
}

func buildResource(api *restkit.API, r *restkit.Resource, server string) *resourceView {
	path, items := api.ListPath(r), api.ItemsPath(r)
	key := r.KeyField()
	keyVal := sample(key)
	if r.KeySource == restkit.KeyGenerated && !r.SequentialKeys() {
		keyVal = "0190f5a2-7c1e-7b3a-9d4e-2f6a8b1c3d5e"
	}
	itemPath := items + "/" + url.PathEscape(restkit.Format(keyVal))
	// The anchor is the list's path segment, which is unique in the API (the name of
	// a noun may equal a resource's when the resource's path differs).
	d := &resourceView{
		ID: anchor(api, r.Path), Name: r.Name, Path: path, Description: r.Description,
		Key: r.Key, Fields: fieldViews(r.Fields), Timestamps: r.Timestamps, HistoryKeep: r.HistoryKeep,
		Deprecated: deprecationText(api.DeprecationOf(r)),
	}
	switch {
	case r.KeySource == restkit.KeyFromURL:
		d.KeySource = "named by the client in the URL: PUT " + items + "/{" + r.Key + "} writes that record; a key in the body must match the URL"
	case r.SequentialKeys():
		d.KeySource = "generated by the server on POST: 1, 2, 3…, never reused, also after a delete; sending one is a 400"
	case r.KeySource == restkit.KeyGenerated:
		d.KeySource = "generated by the server (a UUIDv7) on POST; sending one is a 400"
	default:
		d.KeySource = "chosen by the client in the body on POST; on PUT the body's key must match the URL"
	}
	body := sampleBody(r.Fields, func(f *restkit.Field) bool {
		return !f.ReadOnly && !(f.Name == r.Key && r.KeySource == restkit.KeyGenerated)
	}, map[string]any{r.Key: keyVal})
	ifMatch := ""
	writeCodes := []int{412, 413, 415}
	if r.RequireIfMatch {
		ifMatch = ` -H 'If-Match: "ETAG"'`
		writeCodes = append(writeCodes, 428)
	}
	if r.Allows(restkit.GET, false) {
		d.Collection = append(d.Collection, &opView{Method: "GET", Path: path,
			Meaning:  "list records, paged (query parameters below)",
			Statuses: statuses(200, 400, 406),
			Curl:     "curl -s -i " + shellQuote(server+path+listExample(r))})
	}
	if r.Allows(restkit.POST, false) {
		d.Collection = append(d.Collection, &opView{Method: "POST", Path: path,
			Meaning:  "create a record; answers with Location and the stored record",
			Statuses: statuses(201, 400, 409, 413, 415),
			Curl:     "curl -s -i -X POST " + server + path + " -H 'Content-Type: application/json' -d " + shellQuote(body)})
		if items != path {
			d.Collection = append(d.Collection, &opView{Method: "POST", Path: items,
				Meaning:  "the same as POST " + path,
				Statuses: statuses(201, 400, 409, 413, 415),
				Curl:     "curl -s -i -X POST " + server + items + " -H 'Content-Type: application/json' -d " + shellQuote(body)})
		}
	}
	d.Item = itemOps(r, items+"/{"+r.Key+"}", server+itemPath, ifMatch, body, writeCodes)
	d.Params = listParamViews(r)
	d.History = historyOps(r, items+"/{"+r.Key+"}", server+itemPath)
	return d
}

// itemOps are the operations on one record; url is the example record's URL.
func itemOps(r *restkit.Resource, item, url, ifMatch, body string, writeCodes []int) []*opView {
	var ops []*opView
	if r.Allows(restkit.GET, true) {
		ops = append(ops, &opView{Method: "GET", Path: item,
			Meaning:  "read one record, with ETag and Last-Modified",
			Statuses: statuses(200, 304, 404, 406),
			Curl:     "curl -s -i " + url})
	}
	if r.Allows(restkit.PUT, true) {
		codes := []int{200}
		meaning := "replace the record exactly: fields not given take their defaults or null"
		if r.PutCreates {
			codes = append(codes, 201)
			meaning += "; creates it (201) when absent"
		}
		codes = append(codes, 400)
		if !r.PutCreates {
			codes = append(codes, 404)
		}
		ops = append(ops, &opView{Method: "PUT", Path: item, Meaning: meaning,
			Statuses: statuses(append(codes, writeCodes...)...),
			Curl:     "curl -s -i -X PUT " + url + ifMatch + " -H 'Content-Type: application/json' -d " + shellQuote(body)})
	}
	if r.Allows(restkit.PATCH, true) {
		ops = append(ops, &opView{Method: "PATCH", Path: item,
			Meaning:  "update some fields (JSON Merge Patch, RFC 7396: null clears a nullable field)",
			Statuses: statuses(append([]int{200, 400, 404, 409}, writeCodes...)...),
			Curl:     "curl -s -i -X PATCH " + url + ifMatch + " -H 'Content-Type: application/merge-patch+json' -d " + shellQuote(patchBody(r))})
	}
	if r.Allows(restkit.DELETE, true) {
		codes := []int{204, 404, 412}
		if r.RequireIfMatch {
			codes = append(codes, 428)
		}
		meaning := "delete the record"
		if len(r.Referrers()) > 0 {
			codes = append(codes, 409)
			meaning += "; records that refer to it follow their relation's on_delete (409 when one restricts it)"
		}
		ops = append(ops, &opView{Method: "DELETE", Path: item, Meaning: meaning,
			Statuses: statuses(codes...),
			Curl:     "curl -s -o /dev/null -w '%{http_code}\\n' -X DELETE " + url + ifMatch})
	}
	for _, sc := range r.SubCollections() {
		ops = append(ops, &opView{Method: "GET", Path: item + "/" + sc.Name,
			Meaning:  "list the " + sc.Resource.Name + " whose " + sc.Field.Name + " refers to this record (paged, filtered and sorted as any list)",
			Statuses: statuses(200, 400, 404), Curl: "curl -s " + url + "/" + sc.Name})
	}
	return ops
}

// historyOps are the revision routes of a record that keeps history.
func historyOps(r *restkit.Resource, item, url string) []*opView {
	if !r.History || !r.Allows(restkit.GET, true) {
		return nil
	}
	revs := item + "/revisions"
	ops := []*opView{
		{Method: "GET", Path: revs, Meaning: "the record's revisions, newest first (deleted records keep theirs, ending in a tombstone)",
			Statuses: statuses(200, 404), Curl: "curl -s " + url + "/revisions"},
		{Method: "GET", Path: revs + "/{rev}", Meaning: "one past revision",
			Statuses: statuses(200, 404), Curl: "curl -s " + url + "/revisions/1"}}
	if r.Allows(restkit.DELETE, true) {
		ops = append(ops, &opView{Method: "DELETE", Path: revs, Meaning: "purge the record's history (the record itself stays)",
			Statuses: statuses(204, 404), Curl: "curl -s -o /dev/null -w '%{http_code}\\n' -X DELETE " + url + "/revisions"})
	}
	return ops
}

// listExample is a query string that shows off the resource's sort and filters.
func listExample(r *restkit.Resource) string {
	q := []string{"limit=10"}
	for _, f := range r.Fields {
		if f.Sortable && f.Name != r.Key {
			q = append(q, "sort=-"+f.Name)
			break
		}
	}
	for _, f := range r.Fields {
		if f.Filterable && f.Name != r.Key {
			q = append(q, url.QueryEscape(f.Name)+"="+url.QueryEscape(restkit.Format(sample(f))))
			break
		}
	}
	return "?" + strings.Join(q, "&")
}

func listParamViews(r *restkit.Resource) []paramView {
	var sortable, names []string
	for _, f := range r.Fields {
		names = append(names, f.Name)
		if f.Sortable {
			sortable = append(sortable, f.Name)
		}
	}
	ps := []paramView{
		{"limit", fmt.Sprintf("records per page: default %d, at most %d", r.PageSize, r.MaxPageSize), "limit=50"},
		{"cursor", "opaque position of the next page, from the Link header (rel=\"next\"); keyset paging, as fast at any depth", "cursor=…"},
		{"page", fmt.Sprintf("1-based page number (offset paging) for small sets; it reaches the first %d rows, deeper lists follow cursors", r.MaxOffset), "page=2"},
		{"sort", "comma list of " + strings.Join(sortable, ", ") + "; a leading - sorts descending; the key breaks ties", "sort=-" + sortable[len(sortable)-1]},
		{"fields", "comma list of the fields to return: " + strings.Join(names, ", "), "fields=" + strings.Join(names[:min(2, len(names))], ",")},
		{"count", "true adds X-Total-Count and a rel=\"last\" link", "count=true"},
	}
	for _, f := range r.Fields {
		if !f.Filterable {
			continue
		}
		ops := []string{"eq", "ne", "lt", "lte", "gt", "gte", "in", "null"}
		switch {
		case f.Type == restkit.TypeBoolean:
			ops = []string{"eq", "ne", "in", "null"}
		case f.Type.Textual():
			ops = []string{"eq", "ne", "lt", "lte", "gt", "gte", "in", "prefix", "null"}
		}
		v := restkit.Format(sample(f))
		ps = append(ps, paramView{f.Name + "[op]", "filter on " + f.Name + " (" + string(f.Type) + "); operators: " + strings.Join(ops, ", ") + "; " + f.Name + "=v is eq; in takes a comma list",
			f.Name + "=" + v + " or " + f.Name + "[ne]=" + v})
	}
	return ps
}

func buildNoun(api *restkit.API, n *restkit.Noun, server string) *nounView {
	path := api.Base + "/" + n.Name
	d := &nounView{ID: anchor(api, n.Name), Name: n.Name, Path: path, Description: n.Description, Fields: fieldViews(n.Fields),
		Deprecated: deprecationText(api.DeprecationOf(nil))}
	body := sampleBody(n.Fields, func(f *restkit.Field) bool { return !f.ReadOnly }, nil)
	u := server + path
	var update, updateBody string
	switch n.Update.Op {
	case restkit.UpdateToggle:
		update = "update: toggle " + n.Update.Field + " (flip it; the body may be empty)"
	case restkit.UpdateIncrement:
		update = "update: increment " + n.Update.Field + " by " + strconv.FormatFloat(n.Update.By, 'g', -1, 64) + " (the body may be empty)"
	case restkit.UpdateHook:
		update = "update: run the server's Go hook with the body (a flat JSON object, or empty)"
		updateBody = " -H 'Content-Type: application/json' -d '{}'"
	default:
		update = "update: merge the body's fields into the state (JSON Merge Patch of a flat object)"
		updateBody = " -H 'Content-Type: application/json' -d " + shellQuote(patchBodyOf(n.Fields, ""))
	}
	d.Ops = []*opView{
		{Method: "GET", Path: path, Meaning: "read the state, with an ETag", Statuses: statuses(200, 304, 406), Curl: "curl -s -i " + u},
		{Method: "PUT", Path: path, Meaning: "set the state exactly: a flat JSON object; fields not given take their defaults",
			Statuses: statuses(200, 400, 412, 413, 415), Curl: "curl -s -X PUT " + u + " -H 'Content-Type: application/json' -d " + shellQuote(body)},
		{Method: "POST", Path: path, Meaning: update, Statuses: statuses(200, 400, 412, 413, 415), Curl: "curl -s -X POST " + u + updateBody},
		{Method: "DELETE", Path: path, Meaning: "reset every field to its default and return the state", Statuses: statuses(200), Curl: "curl -s -X DELETE " + u},
	}
	return d
}

func fieldViews(fs []*restkit.Field) []fieldView {
	out := make([]fieldView, 0, len(fs))
	for _, f := range fs {
		d := fieldView{Name: f.Name, Type: fieldTypeText(f), Description: f.Description}
		add := func(format string, args ...any) { d.Constraints = append(d.Constraints, fmt.Sprintf(format, args...)) }
		if f.MaxItems != nil {
			add("at most %d items", *f.MaxItems)
		}
		if f.Required {
			add("required")
		}
		if f.Nullable {
			add("nullable")
		}
		if f.Default != nil {
			add("default %s", jsonText(f.Default))
		}
		if f.Min != nil {
			add("min %v", *f.Min)
		}
		if f.Max != nil {
			add("max %v", *f.Max)
		}
		if f.MinLength != nil {
			add("minLength %d", *f.MinLength)
		}
		if f.MaxLength != nil {
			add("maxLength %d", *f.MaxLength)
		}
		if f.Pattern != "" {
			add("pattern %s", f.Pattern)
		}
		if len(f.Values) > 0 {
			add("one of %s", strings.Join(f.Values, ", "))
		}
		if f.ReadOnly {
			add("readOnly")
		}
		if f.Unique {
			add("unique")
		}
		if f.Sortable {
			add("sortable")
		}
		if f.Filterable {
			add("filterable")
		}
		out = append(out, d)
	}
	return out
}

// fieldTypeText is a field's type as the reference shows it: a relation names its
// target and what deleting it does, an array its items, json its size limit.
func fieldTypeText(f *restkit.Field) string {
	switch f.Type {
	case restkit.TypeRelation:
		many := ""
		if f.Many {
			many = " (many)"
		}
		return fmt.Sprintf("relation%s → %s, on delete %s", many, f.TargetAPI().ListPath(f.Target()), f.OnDelete)
	case restkit.TypeArray:
		return "array of " + string(f.Items)
	case restkit.TypeJSON:
		return fmt.Sprintf("json (≤ %d bytes)", f.MaxBytes)
	}
	return string(f.Type)
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return restkit.Format(v)
	}
	return string(b)
}

// sampleText gives realistic strings for common field names.
var sampleText = map[string]string{
	"model": "Model T", "color": "red", "colour": "red", "name": "fred", "title": "Hello",
	"comment": "likes cars", "description": "a short description", "city": "Paris", "country": "France",
}

// sample is a plausible value of a field that passes its declared constraints
// (except a pattern, which no generator here can promise).
func sample(f *restkit.Field) any {
	if f.Default != nil {
		return f.Default
	}
	switch f.Type {
	case restkit.TypeInteger, restkit.TypeNumber:
		x := 1.0
		if strings.Contains(f.Name, "year") {
			x = 2010
		}
		if f.Min != nil && x < *f.Min {
			x = *f.Min
		}
		if f.Max != nil && x > *f.Max {
			x = *f.Max
		}
		if f.Type == restkit.TypeInteger {
			return int64(x)
		}
		return x
	case restkit.TypeBoolean:
		return true
	case restkit.TypeDatetime:
		return "2024-05-01T12:00:00Z"
	case restkit.TypeEnum:
		if len(f.Values) > 0 {
			return f.Values[0]
		}
		return ""
	case restkit.TypeEmail:
		return "fred@example.com"
	case restkit.TypeURL:
		return "https://example.com/"
	}
	s, ok := sampleText[f.Name]
	if !ok {
		s = "example"
	}
	if f.MaxLength != nil && len([]rune(s)) > *f.MaxLength {
		s = string([]rune(s)[:*f.MaxLength])
	}
	if f.MinLength != nil && len([]rune(s)) < *f.MinLength {
		s += strings.Repeat("x", *f.MinLength-len([]rune(s)))
	}
	return s
}

// sampleBody is a JSON object of the fields keep selects, in declaration order.
func sampleBody(fs []*restkit.Field, keep func(*restkit.Field) bool, fixed map[string]any) string {
	var b strings.Builder
	b.WriteByte('{')
	first := true
	for _, f := range fs {
		if !keep(f) {
			continue
		}
		v, ok := fixed[f.Name]
		if !ok {
			v = sample(f)
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(jsonText(f.Name) + ":" + jsonText(v))
	}
	b.WriteByte('}')
	return b.String()
}

func patchBody(r *restkit.Resource) string { return patchBodyOf(r.Fields, r.Key) }

// patchBodyOf is a merge patch of the first writable field that is not the key.
func patchBodyOf(fs []*restkit.Field, key string) string {
	for _, f := range fs {
		if f.Name != key && !f.ReadOnly {
			return "{" + jsonText(f.Name) + ":" + jsonText(sample(f)) + "}"
		}
	}
	return "{}"
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func buildArtefacts(o DocsOptions) *artefactsView {
	p, u := o.Artefacts, o.ServerURL+o.Artefacts
	d := &artefactsView{Path: p}
	d.Routes = []routeView{
		{"GET", p, "200: directories [{name, artefacts, size, updated}]", "?sha256=HEX lists every version with that content; ?prop.KEY=VALUE the versions with those properties (paged)"},
		{"GET", p + "/{dir}", "200: its subdirectories, then the latest version of each artefact", "DIR is a path of up to 8 segments (org/app/1.2.0); paged with limit, cursor and Link; prefix=, sort=name|updated|size; JSON, XML or CSV; 404 unknown directory"},
		{"POST", p + "/{dir}/{id}", "201, Location, metadata", "409 when it exists, when the path is a directory, or below an artefact; creates the directories"},
		{"PUT", p + "/{dir}/{id}", "201 new / 200 replaced, metadata", "a replace adds a new immutable version; X-Checksum-Deploy: true + X-Checksum-Sha256 and no body deploys stored content (404 when unknown)"},
		{"GET", p + "/{dir}/{id}[?version=N]", "200: the bytes", "Range → 206; If-None-Match → 304; 404"},
		{"GET", p + "/{dir}/{id}/versions", "200: versions, newest first", ""},
		{"GET, PUT", p + "/{dir}/{id}/properties[?version=N]", "200: {directory, id, version, properties}", "PUT a JSON object of strings: at most 64, keys of 1–128 of [A-Za-z0-9._-], values up to 1 KiB"},
		{"DELETE", p + "/{dir}/{id}[?version=N]", "204", "the whole artefact, or one version"},
		{"DELETE", p + "/{dir}", "204", "the directory and everything below it, in one transaction"},
		{"POST, HEAD, PATCH, DELETE", "/_uploads[/{upload}]", "tus 1.0 resumable uploads", "creation, termination, checksum; Upload-Metadata: path <base64 of DIR/ID>"},
		{"POST", "/_admin/cleanup[?dry_run=true]", "200: what the cleanup policies delete", "admin role; loopback without auth"},
	}
	d.Limits = policyLimits(o.Policy)
	server := ""
	if o.ServerURL != "http://127.0.0.1:8080" {
		server = " --server " + o.ServerURL
	}
	d.Examples = []exampleView{
		{"upload a file (raw bytes), create-only", "curl -s -T app.tar.gz -H 'If-None-Match: *' " + u + "/releases/app.tar.gz"},
		{"upload into nested directories", "curl -s -T app.tar.gz " + u + "/org/app/1.2.0/app.tar.gz"},
		{"upload with a checksum the server verifies", "curl -s -T app.tar.gz -H \"X-Checksum-Sha256: $(sha256sum app.tar.gz | cut -d' ' -f1)\" " + u + "/releases/app.tar.gz"},
		{"deploy stored content by its checksum (no body)", "curl -s -X PUT -H 'X-Checksum-Deploy: true' -H \"X-Checksum-Sha256: $(sha256sum app.tar.gz | cut -d' ' -f1)\" " + u + "/releases/app.tar.gz"},
		{"upload from a form (multipart)", "curl -s -F file=@app.tar.gz " + u + "/releases/app.tar.gz"},
		{"download the latest version", "curl -s -o app.tar.gz " + u + "/releases/app.tar.gz"},
		{"resume an interrupted download", "curl -s -C - -o app.tar.gz " + u + "/releases/app.tar.gz"},
		{"download version 1", "curl -s -o app.tar.gz '" + u + "/releases/app.tar.gz?version=1'"},
		{"list versions", "curl -s " + u + "/releases/app.tar.gz/versions"},
		{"set and search properties", "curl -s -X PUT -H 'Content-Type: application/json' -d '{\"build\":\"142\"}' " + u + "/releases/app.tar.gz/properties; curl -s '" + u + "?prop.build=142'"},
		{"CLI: upload (deploys by checksum first, resumable)", "restkit push releases/app.tar.gz app.tar.gz" + server},
		{"CLI: download (checked against the SHA-256, resumable)", "restkit pull releases/app.tar.gz -o app.tar.gz" + server},
		{"CLI: list, walk, versions, delete", "restkit ls releases" + server + "; restkit ls -R org" + server + "; restkit versions releases/app.tar.gz" + server + "; restkit rm releases/app.tar.gz" + server},
		{"CLI: what the cleanup policies would delete", "restkit cleanup --dry-run" + server},
	}
	return d
}

// policyLimits describes the repository's limits, retention and cleanup policies.
func policyLimits(pol artefact.Policy) []string {
	var out []string
	if pol.MaxSize > 0 {
		out = append(out, "uploads up to "+bytesText(pol.MaxSize)+" (larger: 413)")
	} else {
		out = append(out, "no upload size limit")
	}
	if pol.KeepVersions > 0 {
		out = append(out, fmt.Sprintf("%d versions kept per artefact, oldest pruned first", pol.KeepVersions))
	} else {
		out = append(out, "every version is kept")
	}
	if pol.MinFree > 0 {
		out = append(out, "uploads are refused (507) while the data disk has less than "+bytesText(pol.MinFree)+" free")
	}
	for _, dp := range pol.Directories {
		var parts []string
		if dp.MaxSize > 0 {
			parts = append(parts, "uploads up to "+bytesText(dp.MaxSize))
		}
		if dp.KeepVersions > 0 {
			parts = append(parts, fmt.Sprintf("%d versions kept", dp.KeepVersions))
		}
		out = append(out, "directories matching "+dp.Pattern+" (and below them): "+strings.Join(parts, ", "))
	}
	for _, c := range pol.Cleanup {
		var parts []string
		if c.OlderThan > 0 {
			parts = append(parts, "stored more than "+c.OlderThan.String()+" ago")
		}
		if c.NotDownloadedFor > 0 {
			parts = append(parts, "not downloaded for "+c.NotDownloadedFor.String())
		}
		if c.KeepLatest > 0 {
			parts = append(parts, fmt.Sprintf("beyond the %d newest of their artefact", c.KeepLatest))
		}
		out = append(out, "cleanup of "+c.Match+": versions "+strings.Join(parts, ", "))
	}
	return out
}

func bytesText(n int64) string {
	for _, u := range []struct {
		name string
		size int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + " " + u.name
		}
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// webhookData says what the data of an event type's payload holds.
func webhookData(s *restkit.Schema, typ string) string {
	name, op, _ := strings.Cut(typ, ".")
	switch {
	case name == "artefacts":
		return "the artefact's metadata"
	case op == string(restkit.Deleted):
		return "the deleted record's key"
	}
	for _, api := range s.APIs {
		for _, n := range api.Nouns {
			if n.Name == name {
				return "the state after the write, as GET shows it"
			}
		}
	}
	return "the record after the write, as GET shows it"
}

// deprecationText says what a deprecation announces, for the reference page; "" for
// none.
func deprecationText(d *restkit.Deprecation) string {
	if d == nil {
		return ""
	}
	text := "Deprecated"
	if !d.Since.IsZero() {
		text += " since " + d.Since.UTC().Format(time.DateOnly)
	}
	if !d.Sunset.IsZero() {
		text += "; it stops answering on " + d.Sunset.UTC().Format(time.DateOnly)
	}
	if d.Successor != "" {
		text += "; its successor is " + d.Successor
	}
	return text + ". Responses carry Deprecation, Sunset and Link (rel=\"successor-version\") headers."
}
