package httpapi

import (
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/artefact"
)

// Listings: the repository's root (directories, or versions found by digest or by
// properties), a directory's subdirectories and artefacts, an artefact's versions.
// Each is JSON, XML or CSV as Accept asks (406 for anything else), with Vary: Accept.

// dirJSON is a top-level directory in the root listing.
type dirJSON struct {
	XMLName   xml.Name `json:"-" xml:"directory"`
	Name      string   `json:"name" xml:"name"`
	Artefacts int64    `json:"artefacts" xml:"artefacts"`
	Size      int64    `json:"size" xml:"size"`
	Updated   string   `json:"updated" xml:"updated"`
}

// entryJSON is an entry of a directory listing: a subdirectory, or an artefact.
type entryJSON struct {
	XMLName xml.Name `json:"-" xml:"directory"`
	Type    string   `json:"type" xml:"type"`
	Name    string   `json:"name" xml:"name"`
	Path    string   `json:"path" xml:"path"`
}

// artefactColumns are the CSV columns of versions and listing entries.
var artefactColumns = []string{"type", "name", "path", "directory", "id", "version", "size", "sha256", "content_type", "filename", "created", "updated"}

func (j artefactJSON) csvRow() []string {
	return []string{"file", j.ID, j.Directory + "/" + j.ID, j.Directory, j.ID, strconv.FormatInt(j.Version, 10), strconv.FormatInt(j.Size, 10),
		j.SHA256, j.ContentType, j.Filename, j.Created, j.Updated}
}

func (e entryJSON) csvRow() []string {
	return []string{e.Type, e.Name, e.Path, "", "", "", "", "", "", "", "", ""}
}

// writeList writes a list in the negotiated representation: a JSON array, an XML
// document <root>…</root>, or CSV with a header row.
func writeList[T any](w http.ResponseWriter, media, root string, header []string, items []T, row func(T) []string) {
	h := w.Header()
	addVary(h, "Accept")
	switch media {
	case mediaXML:
		b := []byte(xml.Header + "<" + root + ">")
		for _, it := range items {
			x, _ := xml.Marshal(it)
			b = append(b, x...)
		}
		writeBody(w, http.StatusOK, mediaXML+"; charset=utf-8", append(b, "</"+root+">\n"...))
	case mediaCSV:
		h.Set("Content-Type", mediaCSV+"; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		cw := csv.NewWriter(w)
		_ = cw.Write(header)
		for _, it := range items {
			_ = cw.Write(row(it))
		}
		cw.Flush()
	default:
		writeJSON(w, http.StatusOK, mediaJSON, items)
	}
}

func writeArtefacts(w http.ResponseWriter, media string, list []artefactJSON) {
	writeList(w, media, "artefacts", artefactColumns, list, artefactJSON.csvRow)
}

// serveRoot lists the top-level directories, or finds versions by digest
// (?sha256=HEX) or by properties (?prop.KEY=VALUE, paged).
func (h *artefactHandler) serveRoot(w http.ResponseWriter, r *http.Request) {
	if !h.verbs(w, r, allowRoot) {
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		h.fail(w, r, restkit.Errorf(restkit.Invalid, "the query string is malformed"))
		return
	}
	media, err := negotiate(r, mediaJSON, mediaXML, mediaCSV)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for k := range q {
		if strings.HasPrefix(k, "prop.") {
			h.searchProperties(w, r, q, media)
			return
		}
	}
	if q, err = onlyParams(r, "sha256"); err != nil {
		h.fail(w, r, err)
		return
	}
	if s, ok := q["sha256"]; ok {
		h.findByDigest(w, r, s[0], media)
		return
	}
	dirs, err := h.repo.Directories(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// A caller sees only the directories it may read.
	out := make([]dirJSON, 0, len(dirs))
	for _, d := range dirs {
		if h.mayRead(r, d.Name) {
			out = append(out, dirJSON{Name: d.Name, Artefacts: d.Artefacts, Size: d.Size, Updated: d.Updated.UTC().Format(time.RFC3339Nano)})
		}
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeList(w, media, "directories", []string{"name", "artefacts", "size", "updated"}, out, func(d dirJSON) []string {
		return []string{d.Name, strconv.FormatInt(d.Artefacts, 10), strconv.FormatInt(d.Size, 10), d.Updated}
	})
}

func (h *artefactHandler) findByDigest(w http.ResponseWriter, r *http.Request, sum, media string) {
	d, err := checkDigest("sha256", sum)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	list, err := h.repo.FindByDigest(r.Context(), d)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	list = slices.DeleteFunc(list, func(a *restkit.Artefact) bool { return !h.mayRead(r, a.Directory) })
	if err := h.repo.WithProperties(r.Context(), list...); err != nil {
		h.fail(w, r, err)
		return
	}
	writeArtefacts(w, media, toJSONList(list))
}

// searchProperties answers ?prop.KEY=VALUE[&prop.K2=V2][&limit=N&cursor=C]: the
// versions holding every pair, by path and version, that the caller may read.
func (h *artefactHandler) searchProperties(w http.ResponseWriter, r *http.Request, q url.Values, media string) {
	match := map[string]string{}
	limit := restkit.DefaultPageSize
	var errs []restkit.FieldError
	for k, vs := range q {
		switch {
		case len(vs) > 1:
			errs = append(errs, restkit.FieldError{Field: k, Message: "is given more than once"})
		case strings.HasPrefix(k, "prop."):
			match[strings.TrimPrefix(k, "prop.")] = vs[0]
		case k == "limit":
			n, err := strconv.Atoi(vs[0])
			if err != nil || n < 1 || n > restkit.DefaultMaxPageSize {
				errs = append(errs, restkit.FieldError{Field: "limit", Message: fmt.Sprintf("must be a whole number from 1 to %d", restkit.DefaultMaxPageSize)})
			}
			limit = n
		case k != "cursor":
			errs = append(errs, restkit.FieldError{Field: k, Message: "is not a parameter of a property search; allowed: prop.KEY, limit, cursor"})
		}
	}
	if err := artefact.CheckProperties(match); err != nil {
		errs = append(errs, restkit.ErrorFields(err)...)
	}
	search := canonicalSearch(match)
	pq := restkit.PropertyQuery{Match: match, Limit: limit}
	if c := q.Get("cursor"); c != "" && len(errs) == 0 {
		var err error
		if pq.After, err = h.s.cursors.decodeSearch(search, c); err != nil {
			errs = append(errs, restkit.FieldError{Field: "cursor", Message: restkit.ErrorMessage(err)})
		}
	}
	if len(errs) > 0 {
		h.fail(w, r, &restkit.Error{Kind: restkit.Invalid, Message: "invalid query parameters", Fields: errs})
		return
	}
	found, more, err := h.repo.FindByProperties(r.Context(), pq)
	if err == nil {
		err = h.repo.WithProperties(r.Context(), found...)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if more {
		last := found[len(found)-1]
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("cursor", h.s.cursors.encodeSearch(search, restkit.VersionKey{Directory: last.Directory, ID: last.ID, Version: last.Version}))
		w.Header().Set("Link", "<"+h.base+"?"+next.Encode()+`>; rel="next"`)
	}
	found = slices.DeleteFunc(found, func(a *restkit.Artefact) bool { return !h.mayRead(r, a.Directory) })
	w.Header().Set("Cache-Control", "no-cache")
	writeArtefacts(w, media, toJSONList(found))
}

// canonicalSearch is a search's pairs in one string, for its cursors.
func canonicalSearch(match map[string]string) string {
	v := url.Values{}
	for k, val := range match {
		v.Set(k, val)
	}
	return v.Encode()
}

// serveDirectory lists a directory: its subdirectories the caller may read, then its
// artefacts (latest versions), paged as one list.
func (h *artefactHandler) serveDirectory(w http.ResponseWriter, r *http.Request, dir string) {
	q, err := onlyParams(r, "limit", "cursor", "prefix", "sort")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	media, err := negotiate(r, mediaJSON, mediaXML, mediaCSV)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	bq, err := h.browseQuery(dir, q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	page, err := h.repo.Browse(r.Context(), dir, bq)
	if err == nil {
		err = h.repo.WithProperties(r.Context(), page.Artefacts...)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if page.More {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		if n := len(page.Artefacts); n > 0 {
			next.Set("cursor", h.s.cursors.encodeArtefact(dir, bq.Files.Sort, page.Artefacts[n-1]))
		} else {
			next.Set("cursor", h.s.cursors.encodeSubdirectory(dir, bq.Files.Sort, page.Directories[len(page.Directories)-1]))
		}
		w.Header().Set("Link", "<"+h.artefactURL(dir)+"?"+next.Encode()+`>; rel="next"`)
	}
	entries := []listEntry{}
	for _, name := range page.Directories {
		if p := dir + "/" + name; h.mayRead(r, p) {
			entries = append(entries, listEntry{dir: &entryJSON{Type: "directory", Name: name, Path: p}})
		}
	}
	for _, a := range page.Artefacts {
		j := toJSON(a)
		j.Type = "file"
		entries = append(entries, listEntry{file: &j})
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeList(w, media, "listing", artefactColumns, entries, listEntry.csvRow)
}

// listEntry is a subdirectory or an artefact of a listing.
type listEntry struct {
	dir  *entryJSON
	file *artefactJSON
}

func (e listEntry) MarshalJSON() ([]byte, error) {
	if e.dir != nil {
		return json.Marshal(e.dir)
	}
	return json.Marshal(e.file)
}

func (e listEntry) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error {
	if e.dir != nil {
		return enc.Encode(e.dir)
	}
	return enc.Encode(e.file)
}

func (e listEntry) csvRow() []string {
	if e.dir != nil {
		return e.dir.csvRow()
	}
	return e.file.csvRow()
}

// browseQuery reads a directory listing's parameters.
func (h *artefactHandler) browseQuery(dir string, q url.Values) (artefact.BrowseQuery, error) {
	bq := artefact.BrowseQuery{Files: restkit.ArtefactQuery{Limit: restkit.DefaultPageSize, Prefix: artefact.NormalizePrefix(q.Get("prefix")), Sort: q.Get("sort")}}
	var errs []restkit.FieldError
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > restkit.DefaultMaxPageSize {
			errs = append(errs, restkit.FieldError{Field: "limit", Message: fmt.Sprintf("must be a whole number from 1 to %d", restkit.DefaultMaxPageSize)})
		} else {
			bq.Files.Limit = n
		}
	}
	switch strings.TrimPrefix(bq.Files.Sort, "-") {
	case "", "name", "updated", "size":
	default:
		errs = append(errs, restkit.FieldError{Field: "sort", Message: "must be name, updated or size, with - for descending"})
	}
	if c := q.Get("cursor"); c != "" && len(errs) == 0 {
		afterDir, files, err := h.s.cursors.decodeListing(dir, bq.Files.Sort, c)
		if err != nil {
			errs = append(errs, restkit.FieldError{Field: "cursor", Message: restkit.ErrorMessage(err)})
		}
		bq.AfterDir, bq.Files.After, bq.InFiles = afterDir, files, files != nil
	}
	if len(errs) > 0 {
		return bq, &restkit.Error{Kind: restkit.Invalid, Message: "invalid query parameters", Fields: errs}
	}
	return bq, nil
}
