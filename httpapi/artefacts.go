package httpapi

import (
	"cmp"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/artefact"
)

// artefactHandler serves the artefact repository (DESIGN §4) under one path prefix.
// Errors are problem+json; bodies stream straight into the blob store.
type artefactHandler struct {
	s    *Server
	repo *artefact.Repository
	base string // "/artefacts" (also served under the singular alias)
}

// artefactJSON is the metadata of one version on the wire; Type is set in listings.
type artefactJSON struct {
	XMLName     xml.Name          `json:"-" xml:"artefact"`
	Type        string            `json:"type,omitempty" xml:"type,omitempty"`
	Directory   string            `json:"directory" xml:"directory"`
	ID          string            `json:"id" xml:"id"`
	Version     int64             `json:"version" xml:"version"`
	Size        int64             `json:"size" xml:"size"`
	SHA256      string            `json:"sha256" xml:"sha256"`
	ContentType string            `json:"content_type" xml:"content_type"`
	Filename    string            `json:"filename,omitempty" xml:"filename,omitempty"`
	Created     string            `json:"created" xml:"created"`
	Updated     string            `json:"updated" xml:"updated"`
	Properties  map[string]string `json:"properties,omitempty" xml:"-"`
}

func toJSON(a *restkit.Artefact) artefactJSON {
	j := artefactJSON{Directory: a.Directory, ID: a.ID, Version: a.Version, Size: a.Size, SHA256: a.SHA256,
		ContentType: a.ContentType, Filename: a.Filename,
		Created: a.Created.UTC().Format(time.RFC3339Nano), Updated: a.Updated.UTC().Format(time.RFC3339Nano)}
	if len(a.Properties) > 0 {
		j.Properties = a.Properties
	}
	return j
}

func toJSONList(as []*restkit.Artefact) []artefactJSON {
	out := make([]artefactJSON, len(as))
	for i, a := range as {
		out[i] = toJSON(a)
	}
	return out
}

// The verbs of each artefact route.
const (
	allowRoot       = "GET, HEAD, OPTIONS"
	allowDirectory  = "GET, HEAD, DELETE, OPTIONS"
	allowArtefact   = "GET, HEAD, POST, PUT, DELETE, OPTIONS"
	allowVersions   = "GET, HEAD, OPTIONS"
	allowProperties = "GET, HEAD, PUT, OPTIONS"
)

// artefactRoots are the paths the repository is served under: base, and its singular
// alias when base ends in s (/artefact/… is an alias of /artefacts/…).
func artefactRoots(base string) []string {
	roots := []string{base}
	if alias := strings.TrimSuffix(base, "s"); alias != base && !strings.HasSuffix(alias, "/") {
		roots = append(roots, alias)
	}
	return roots
}

// routeArtefacts registers the repository under each of its roots: the root listing,
// and one route for every path below it (DESIGN §14: DIR may have up to 8 segments,
// so the mux cannot tell directories, artefacts and sub-resources apart: artefactTarget
// does). Routes lists the shapes that route serves, as the sweep and `restkit routes`
// know them.
func (s *Server) routeArtefacts(repo *artefact.Repository, base string) {
	h := &artefactHandler{s: s, repo: repo, base: base}
	g := s.treeGuard(repo)
	for _, p := range s.artefactRoots {
		rg := s.repositoryGuard()
		rg.enabled = s.artefactsOn
		s.route(p, allowRoot, rg, h.serveRoot)
		tree := s.gated(s.artefactsOn, s.guarded(g, h.serveTree))
		s.mux.HandleFunc(p+"/{path...}", func(w http.ResponseWriter, r *http.Request) {
			h.serveWithTarget(w, r, tree)
		})
		for _, shape := range []struct{ pattern, allow string }{
			{"/{dir}", allowDirectory}, {"/{dir}/{id}", allowArtefact},
			{"/{dir}/{id}/versions", allowVersions}, {"/{dir}/{id}/properties", allowProperties}, {"/events", allowRoot},
		} {
			s.routes = append(s.routes, Route{Pattern: p + shape.pattern, Methods: splitList(shape.allow), Rule: g.rule})
		}
	}
	if repo.Resumable() {
		s.routeUploads(repo)
	}
	s.routeCleanup(repo)
}

func (h *artefactHandler) fail(w http.ResponseWriter, r *http.Request, err error) {
	h.s.writeError(w, r, false, err)
}

// verbs answers OPTIONS (204 with Allow) and verbs not in allow (405); it reports
// whether the handler should go on. allow lists the verbs, HEAD and OPTIONS included.
func (h *artefactHandler) verbs(w http.ResponseWriter, r *http.Request, allow string) bool {
	if r.Method == http.MethodOptions {
		w.Header().Set("Allow", allow)
		w.WriteHeader(http.StatusNoContent)
		return false
	}
	for _, v := range strings.Split(allow, ", ") {
		if v == r.Method {
			return true
		}
	}
	h.s.methodNotAllowed(w, r, false, allow)
	return false
}

func onlyParams(r *http.Request, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, restkit.Errorf(restkit.Invalid, "the query string is malformed")
	}
	for name, vs := range q {
		ok := false
		for _, a := range allowed {
			ok = ok || a == name
		}
		switch {
		case !ok && len(allowed) == 0:
			return nil, &restkit.Error{Kind: restkit.Invalid, Message: "invalid query parameters",
				Fields: []restkit.FieldError{{Field: name, Message: "is not a parameter here: this takes none"}}}
		case !ok:
			return nil, &restkit.Error{Kind: restkit.Invalid, Message: "invalid query parameters",
				Fields: []restkit.FieldError{{Field: name, Message: "is not a parameter here; allowed: " + strings.Join(allowed, ", ")}}}
		case len(vs) > 1:
			return nil, &restkit.Error{Kind: restkit.Invalid, Message: "invalid query parameters",
				Fields: []restkit.FieldError{{Field: name, Message: "is given more than once"}}}
		}
	}
	return q, nil
}

// parseVersion reads ?version=N; 0 when the parameter is absent. An empty value
// (?version=) is an error like any other that is not a version number: read as
// absent, it would answer with the latest version, or delete the whole artefact.
func parseVersion(q url.Values) (int64, error) {
	vs, ok := q["version"]
	if !ok {
		return 0, nil
	}
	s := vs[0]
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 || strconv.FormatInt(n, 10) != s {
		return 0, &restkit.Error{Kind: restkit.Invalid, Message: "invalid query parameters",
			Fields: []restkit.FieldError{{Field: "version", Message: "must be a version number from 1"}}}
	}
	return n, nil
}

func checkDigest(field, hexDigest string) (string, error) {
	d := strings.ToLower(hexDigest)
	if b, err := hex.DecodeString(d); err != nil || len(b) != 32 {
		return "", &restkit.Error{Kind: restkit.Invalid, Message: "invalid SHA-256",
			Fields: []restkit.FieldError{{Field: field, Message: "must be 64 hexadecimal digits"}}}
	}
	return d, nil
}

func etagOfArtefact(a *restkit.Artefact) string { return `"` + a.SHA256 + `"` }

// download serves one version's bytes. http.ServeContent answers Range (206, 416),
// If-Range, If-None-Match (304, against the ETag set here), If-Modified-Since and HEAD.
func (h *artefactHandler) download(w http.ResponseWriter, r *http.Request, dir, id string) {
	q, err := onlyParams(r, "version")
	var version int64
	if err == nil {
		version, err = parseVersion(q)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	a, blob, err := h.repo.Open(r.Context(), dir, id, version)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer blob.Close()
	if r.Method == http.MethodGet {
		h.repo.Downloaded(r.Context(), a) // for cleanup policies by last download
	}
	hdr := w.Header()
	hdr.Set("Content-Type", a.ContentType)
	hdr.Set("ETag", etagOfArtefact(a))
	sum, _ := hex.DecodeString(a.SHA256)
	hdr.Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum)+":")
	hdr.Set("X-Artefact-Version", strconv.FormatInt(a.Version, 10))
	name := a.Filename
	if name == "" {
		name = a.ID
	}
	hdr.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	if version > 0 {
		hdr.Set("Cache-Control", "public, max-age=31536000, immutable") // a version never changes
	} else {
		hdr.Set("Cache-Control", "no-cache") // the latest may: revalidate with the ETag
	}
	if spec := r.Header.Get("Range"); spec != "" {
		if limited := limitRanges(spec, a.Size); limited != spec {
			r = r.Clone(r.Context())
			r.Header.Set("Range", limited)
			if limited == "" {
				r.Header.Del("Range")
			}
		}
	}
	http.ServeContent(&problemWriter{ResponseWriter: w, h: h, r: r, size: a.Size}, r, "", a.Updated, blob)
}

// maxRanges is the most ranges one download serves (DESIGN §10).
const maxRanges = 16

// limitRanges bounds what one Range header can cost before http.ServeContent reads it:
// eight thousand copies of bytes=0-0 made a 1.1 MB multipart answer from a 100 KB
// file. RFC 9110 §14.2 lets a server coalesce ranges or ignore the header, so a list
// of ranges is rewritten: the empty ones dropped, those that overlap or touch merged,
// in ascending order; when more than maxRanges remain the header is dropped ("") and
// the whole file is served with 200. A list that selects nothing becomes one range
// past the end, which ServeContent answers 416 (200 for an empty file). A single
// range and a header that is not a list of byte ranges are returned as they are, for
// ServeContent to answer as ever; If-Range is its business too. The parsing follows
// ServeContent's own.
func limitRanges(spec string, size int64) string {
	const unit = "bytes="
	if !strings.HasPrefix(spec, unit) || !strings.Contains(spec, ",") {
		return spec
	}
	type span struct{ start, end int64 } // [start, end)
	var spans []span
	for ra := range strings.SplitSeq(spec[len(unit):], ",") {
		ra = textproto.TrimString(ra)
		if ra == "" {
			continue
		}
		first, last, ok := strings.Cut(ra, "-")
		if !ok {
			return spec
		}
		first, last = textproto.TrimString(first), textproto.TrimString(last)
		var sp span
		if first == "" { // the last N bytes
			n, err := strconv.ParseInt(last, 10, 64)
			if err != nil || n < 0 {
				return spec
			}
			sp = span{max(size-n, 0), size}
		} else {
			n, err := strconv.ParseInt(first, 10, 64)
			if err != nil || n < 0 {
				return spec
			}
			sp = span{n, size}
			if last != "" {
				m, err := strconv.ParseInt(last, 10, 64)
				if err != nil || m < n {
					return spec
				}
				if m < size {
					sp.end = m + 1
				}
			}
		}
		if sp.start < sp.end { // empty: at or past the end, or a suffix of 0 bytes
			spans = append(spans, sp)
		}
	}
	if len(spans) == 0 { // nothing satisfiable (RFC 9110 §14.1.1): 416
		return unit + strconv.FormatInt(size, 10) + "-"
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	merged := spans[:1]
	for _, sp := range spans[1:] {
		if last := &merged[len(merged)-1]; sp.start <= last.end {
			last.end = max(last.end, sp.end)
			continue
		}
		merged = append(merged, sp)
	}
	if len(merged) > maxRanges {
		return ""
	}
	b := []byte(unit)
	for i, sp := range merged {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, sp.start, 10)
		b = append(b, '-')
		b = strconv.AppendInt(b, sp.end-1, 10)
	}
	return string(b)
}

// problemWriter turns the errors http.ServeContent answers by itself (416 for a range
// outside the file, 412 for a failed If-Match or If-Unmodified-Since) into problem
// bodies like every other error, instead of its plain-text Go messages.
type problemWriter struct {
	http.ResponseWriter
	h       *artefactHandler
	r       *http.Request
	size    int64
	replied bool
}

func (p *problemWriter) WriteHeader(code int) {
	var err error
	switch code {
	case http.StatusRequestedRangeNotSatisfiable:
		err = restkit.Errorf(restkit.RangeNotSatisfiable, "the range is not within the file's %d bytes", p.size)
	case http.StatusPreconditionFailed:
		err = restkit.Errorf(restkit.PreconditionFailed, "the artefact does not match the request's preconditions")
	}
	if err == nil {
		p.ResponseWriter.WriteHeader(code)
		return
	}
	p.replied = true
	hdr := p.Header()
	for _, k := range []string{"Content-Disposition", "Repr-Digest", "X-Artefact-Version", "Cache-Control"} {
		hdr.Del(k)
	}
	p.h.fail(p.ResponseWriter, p.r, err) // keeps Content-Range: bytes */size on a 416
}

func (p *problemWriter) Write(b []byte) (int, error) {
	if p.replied {
		return len(b), nil // ServeContent's own error text: replaced by the problem
	}
	return p.ResponseWriter.Write(b)
}

// clientBody is an upload's body as the blob store reads it: a failure to read it
// (malformed chunked framing, a multipart body cut short, a client gone mid-way) is
// the client's, a 400 that counts as no storage error, not an Internal error of the
// blob store that happened to be reading. A slow body (errSlowBody) keeps its own
// answer through errors.Is, and io.EOF stays the end of the body.
type clientBody struct{ r io.Reader }

func (b clientBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = &restkit.Error{Kind: restkit.Invalid, Op: "httpapi.upload", Err: err,
			Message: "the body could not be read (malformed framing, or cut short); nothing was stored"}
	}
	return n, err
}

// maxFormField bounds a non-file part of a multipart upload that is skipped.
const maxFormField = 1 << 20

// upload stores a POST (create only) or PUT (create or new version) body: raw bytes,
// or the first file part of multipart/form-data. Nothing is buffered whole: the body
// streams through the hasher into a staged blob.
func (h *artefactHandler) upload(w http.ResponseWriter, r *http.Request, dir, id string) {
	if _, err := onlyParams(r); err != nil {
		h.fail(w, r, err)
		return
	}
	u := artefact.Upload{Directory: dir, ID: id, Body: clientBody{r.Body}, Length: r.ContentLength, ContentType: r.Header.Get("Content-Type")}
	mt, _, _ := mime.ParseMediaType(u.ContentType)
	multi := mt == "multipart/form-data"
	claimed, err := claimedDigest(r.Header, multi)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if deploy, err := checksumDeploy(r, claimed); err != nil || deploy {
		if err == nil {
			h.deployByChecksum(w, r, dir, id, claimed)
			return
		}
		h.fail(w, r, err)
		return
	}
	u.SHA256 = claimed
	if multi {
		part, err := firstFilePart(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		name, err := artefact.CheckName("file", part.FileName())
		if err != nil { // it becomes the download's name: the same rules as any name
			h.fail(w, r, err)
			return
		}
		u.Body, u.Length, u.Filename, u.ContentType = clientBody{part}, -1, name, part.Header.Get("Content-Type")
	}
	var created bool
	u.Check = uploadCheck(r, dir, id, &created)
	a, err := h.repo.Put(r.Context(), u)
	h.stored(w, r, a, created, err)
}

// stored answers an upload or a deploy: 201 for a new artefact, 200 for a new version.
func (h *artefactHandler) stored(w http.ResponseWriter, r *http.Request, a *restkit.Artefact, created bool, err error) {
	if err != nil {
		h.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	w.Header().Set("Location", h.artefactURL(a.Path()))
	w.Header().Set("ETag", etagOfArtefact(a))
	w.Header().Set("X-Artefact-Version", strconv.FormatInt(a.Version, 10))
	writeJSON(w, status, mediaJSON, toJSON(a))
}

// uploadCheck is the precondition of a POST (create only) or a PUT (If-Match,
// If-None-Match), run against the latest version inside the store's transaction; it
// notes whether the upload creates the artefact.
func uploadCheck(r *http.Request, dir, id string, created *bool) restkit.ArtefactCheck {
	if r.Method == http.MethodPost {
		return func(latest *restkit.Artefact) error {
			if latest != nil {
				return &restkit.Error{Kind: restkit.Conflict, Message: fmt.Sprintf("artefact %s/%s exists; PUT to add a new version", dir, id),
					Fields: []restkit.FieldError{{Field: "id", Message: "already exists"}}}
			}
			*created = true
			return nil
		}
	}
	return func(latest *restkit.Artefact) error {
		if im := r.Header.Get("If-Match"); im != "" {
			if latest == nil || (im != "*" && !etagListMatch(im, etagOfArtefact(latest))) {
				return restkit.Errorf(restkit.PreconditionFailed, "the artefact has changed (or does not exist); GET it again for its current ETag")
			}
		}
		if inm := r.Header.Get("If-None-Match"); inm != "" && latest != nil {
			if inm == "*" || etagListMatch(inm, etagOfArtefact(latest)) || etagListMatch(inm, "W/"+etagOfArtefact(latest)) {
				return restkit.Errorf(restkit.PreconditionFailed, "the artefact exists and If-None-Match forbids replacing it")
			}
		}
		*created = latest == nil
		return nil
	}
}

// checksumDeploy reads X-Checksum-Deploy: whether the upload is a deploy by checksum,
// which needs X-Checksum-Sha256 and no body.
func checksumDeploy(r *http.Request, claimed string) (bool, error) {
	v, ok := r.Header["X-Checksum-Deploy"]
	if !ok {
		return false, nil
	}
	bad := func(msg string) (bool, error) {
		return false, &restkit.Error{Kind: restkit.Invalid, Message: "invalid deploy by checksum",
			Fields: []restkit.FieldError{{Field: "X-Checksum-Deploy", Message: msg}}}
	}
	switch {
	case len(v) != 1 || (!strings.EqualFold(v[0], "true") && !strings.EqualFold(v[0], "false")):
		return bad("must be true or false, once")
	case strings.EqualFold(v[0], "false"):
		return false, nil
	case claimed == "" || r.Header.Get("X-Checksum-Sha256") == "":
		return bad("needs X-Checksum-Sha256: the hex SHA-256 of the content")
	case r.ContentLength != 0:
		return bad("a deploy by checksum has no body")
	}
	return true, nil
}

// deployByChecksum stores a version of content the repository holds (DESIGN §14). The
// content must be in a version the caller may read: otherwise the answer is the 404
// of unknown content, so that a deploy tells nobody what others stored.
func (h *artefactHandler) deployByChecksum(w http.ResponseWriter, r *http.Request, dir, id, sum string) {
	var created bool
	a, err := h.repo.Deploy(r.Context(), artefact.Deploy{Directory: dir, ID: id, SHA256: sum, ContentType: r.Header.Get("Content-Type"),
		Check:  uploadCheck(r, dir, id, &created),
		MayUse: func(v *restkit.Artefact) bool { return h.mayRead(r, v.Directory) }})
	h.stored(w, r, a, created, err)
}

// claimedDigest reads the SHA-256 a client sends with an upload: X-Checksum-Sha256
// (hex) or Content-Digest (RFC 9530, sha-256=:base64:). Every value sent, on any number
// of header lines, must agree; other Content-Digest algorithms are ignored. For a
// multipart body Content-Digest covers the whole message, not the file, so only
// X-Checksum-Sha256 (which names the file's digest) is checked there.
func claimedDigest(h http.Header, multipart bool) (string, error) {
	var out string
	agree := func(d string) error {
		if out != "" && out != d {
			return restkit.Errorf(restkit.Invalid, "the checksums sent with the upload disagree")
		}
		out = d
		return nil
	}
	for _, x := range h.Values("X-Checksum-Sha256") {
		d, err := checkDigest("X-Checksum-Sha256", strings.TrimSpace(x))
		if err != nil {
			return "", err
		}
		if err := agree(d); err != nil {
			return "", err
		}
	}
	if multipart {
		return out, nil
	}
	for _, cd := range h.Values("Content-Digest") {
		for _, member := range strings.Split(cd, ",") {
			key, val, ok := strings.Cut(strings.TrimSpace(member), "=")
			if !ok || strings.ToLower(strings.TrimSpace(key)) != "sha-256" {
				continue
			}
			val = strings.TrimSpace(val)
			raw, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(strings.TrimPrefix(val, ":"), ":"))
			if err != nil || len(raw) != 32 || !strings.HasPrefix(val, ":") || !strings.HasSuffix(val, ":") {
				return "", &restkit.Error{Kind: restkit.Invalid, Message: "invalid Content-Digest",
					Fields: []restkit.FieldError{{Field: "Content-Digest", Message: "sha-256 must be a base64 SHA-256 between colons (RFC 9530)"}}}
			}
			if err := agree(hex.EncodeToString(raw)); err != nil {
				return "", err
			}
		}
	}
	return out, nil
}

// firstFilePart returns the first part of a multipart body that carries a file,
// skipping (bounded) form fields before it.
func firstFilePart(r *http.Request) (*multipart.Part, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, restkit.Errorf(restkit.Invalid, "the multipart body is malformed")
	}
	for i := 0; i < 100; i++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, restkit.Errorf(restkit.Invalid, "the multipart body has no file part (use curl -F file=@NAME)")
		}
		if err != nil {
			return nil, restkit.Errorf(restkit.Invalid, "the multipart body is malformed")
		}
		if part.FileName() != "" {
			return part, nil
		}
		if n, _ := io.Copy(io.Discard, io.LimitReader(part, maxFormField+1)); n > maxFormField {
			return nil, restkit.Errorf(restkit.TooLarge, "a form field before the file is larger than %d bytes", maxFormField)
		}
	}
	return nil, restkit.Errorf(restkit.Invalid, "the multipart body has too many parts before its file")
}
