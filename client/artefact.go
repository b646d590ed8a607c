package client

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/restkit/restkit"
)

// ArtefactJSON is the wire form of an artefact version's metadata, as the server
// sends it and as `restkit push` and `restkit ls` print it. Times are RFC 3339.
type ArtefactJSON struct {
	Directory   string            `json:"directory"`
	ID          string            `json:"id"`
	Version     int64             `json:"version"`
	Size        int64             `json:"size"`
	SHA256      string            `json:"sha256"`
	ContentType string            `json:"content_type"`
	Filename    string            `json:"filename,omitempty"`
	Created     time.Time         `json:"created"`
	Updated     time.Time         `json:"updated"`
	Properties  map[string]string `json:"properties,omitempty"`
}

// Artefact returns the domain form.
func (j *ArtefactJSON) Artefact() *restkit.Artefact {
	return &restkit.Artefact{
		Directory: j.Directory, ID: j.ID, Version: j.Version, Size: j.Size, SHA256: j.SHA256,
		ContentType: j.ContentType, Filename: j.Filename, Created: j.Created, Updated: j.Updated, Properties: j.Properties,
	}
}

// NewArtefactJSON returns the wire form of a.
func NewArtefactJSON(a *restkit.Artefact) *ArtefactJSON {
	return &ArtefactJSON{
		Directory: a.Directory, ID: a.ID, Version: a.Version, Size: a.Size, SHA256: a.SHA256,
		ContentType: a.ContentType, Filename: a.Filename, Created: a.Created, Updated: a.Updated, Properties: a.Properties,
	}
}

// DirectoryJSON is the wire form of a directory's summary.
type DirectoryJSON struct {
	Name      string    `json:"name"`
	Artefacts int64     `json:"artefacts"`
	Size      int64     `json:"size"`
	Updated   time.Time `json:"updated"`
}

// NewDirectoryJSON returns the wire form of d.
func NewDirectoryJSON(d *restkit.DirectoryInfo) *DirectoryJSON {
	return &DirectoryJSON{Name: d.Name, Artefacts: d.Artefacts, Size: d.Size, Updated: d.Updated}
}

// ErrDigestMismatch is returned (wrapped) when downloaded content does not have the
// SHA-256 the server announced for it.
var ErrDigestMismatch = errors.New("content does not match its SHA-256")

// artefactPath is the escaped path of a directory (id "") or an artefact; dir may be
// a path of segments (org/app/1.2.0). It refuses the segments a URL path cannot carry
// ("", ".", ".."); every other rule on names is the server's, which answers a 400
// naming it.
func artefactPath(dir, id string, needID bool) (string, error) {
	check := func(what, name string) error {
		switch name {
		case "":
			return restkit.Errorf(restkit.Invalid, "the %s name is empty", what)
		case ".", "..":
			return restkit.Errorf(restkit.Invalid, "the %s name cannot be %q", what, name)
		}
		return nil
	}
	p := "/artefacts"
	for _, seg := range strings.Split(dir, "/") {
		if err := check("directory", seg); err != nil {
			return "", err
		}
		p += "/" + url.PathEscape(seg)
	}
	if id == "" && !needID {
		return p, nil
	}
	if err := check("artefact", id); err != nil {
		return "", err
	}
	return p + "/" + url.PathEscape(id), nil
}

// withVersion appends ?version=N when version > 0.
func withVersion(p string, version int64) string {
	if version > 0 {
		return p + "?version=" + strconv.FormatInt(version, 10)
	}
	return p
}

// name is how errors without a body name an artefact: "dir/id", "dir/id version 2".
func name(dir, id string, version int64) string {
	s := dir
	if id != "" {
		s += "/" + id
	}
	if version > 0 {
		s += " version " + strconv.FormatInt(version, 10)
	}
	return s
}

// PushOptions refine a Push.
type PushOptions struct {
	// Replace adds a new version when the artefact exists (PUT) instead of refusing
	// with Conflict (POST).
	Replace bool
	// CreateOnly sends `If-None-Match: *` on a PUT: PreconditionFailed when the
	// artefact exists.
	CreateOnly bool
	// IfMatch replaces only while the latest version has this SHA-256 (hex, quoted
	// or not), else PreconditionFailed. It implies a PUT.
	IfMatch string
	// ContentType is sent as Content-Type; empty sends none and the server decides.
	ContentType string
	// SHA256 (lowercase hex of the whole content), when set, is sent as
	// X-Checksum-Sha256: the server stores nothing and answers Invalid when the
	// bytes it received do not match.
	SHA256 string
	// Deploy sends no body but X-Checksum-Deploy: true (with SHA256): the version is
	// made of content the server holds; NotFound when it holds none the caller may
	// read.
	Deploy bool
}

// Push uploads the content read from r as dir/id and returns the stored version's
// metadata. r is streamed as the request body, never held in memory, and is not
// closed. size is its length in bytes (sent as Content-Length), or -1 when unknown
// (chunked). POST unless o asks for a PUT (Replace, CreateOnly, IfMatch).
//
// Errors: Conflict (exists, on a POST), PreconditionFailed (CreateOnly, IfMatch), Invalid
// (a bad name, a checksum mismatch), TooLarge, InsufficientStorage, or a transport
// error.
func (c *Client) Push(ctx context.Context, dir, id string, r io.Reader, size int64, o PushOptions) (*restkit.Artefact, error) {
	p, err := artefactPath(dir, id, true)
	if err != nil {
		return nil, err
	}
	u, err := c.urlOf(p)
	if err != nil {
		return nil, err
	}
	method := http.MethodPost
	if o.Replace || o.CreateOnly || o.IfMatch != "" {
		method = http.MethodPut
	}
	h := http.Header{"Accept": {"application/json"}}
	if o.ContentType != "" {
		h.Set("Content-Type", o.ContentType)
	}
	if o.CreateOnly {
		h.Set("If-None-Match", "*")
	}
	if o.IfMatch != "" {
		h.Set("If-Match", quoteETag(o.IfMatch))
	}
	if o.SHA256 != "" {
		h.Set("X-Checksum-Sha256", strings.ToLower(o.SHA256))
	}
	if o.Deploy {
		h.Set("X-Checksum-Deploy", "true")
		r, size = nil, 0
	}
	// Hide r's other methods: the transport closes an io.Closer body, and r is the
	// caller's to close.
	var body io.Reader = http.NoBody
	if size != 0 {
		body = struct{ io.Reader }{r}
	}
	req, err := c.newRequest(ctx, method, u, body, h)
	if err != nil {
		return nil, err
	}
	if size > 0 {
		req.ContentLength = size
	}
	resp, err := c.send(req, name(dir, id, 0))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var j ArtefactJSON
	if err := decodeJSON(resp, &j); err != nil {
		return nil, err
	}
	return j.Artefact(), nil
}

// PullOptions refine a Pull or an Open.
type PullOptions struct {
	// Offset > 0 asks for the content from that byte on (Range: bytes=Offset-).
	Offset int64
	// IfRange (the SHA-256 the caller's first Offset bytes came from, quoted or not)
	// makes the server send the whole content instead of a range when the artefact
	// changed since. Ignored without Offset.
	IfRange string
}

// PullResult describes a download.
type PullResult struct {
	// Artefact is the metadata the response headers carry: SHA256 (ETag), Version
	// (X-Artefact-Version), Size (of the whole content), ContentType, Updated
	// (Last-Modified) and Filename (Content-Disposition). Created is not sent.
	Artefact *restkit.Artefact
	// Resumed is true for a 206: the body starts at Offset. False means the body is
	// the whole content, from byte 0, even if an Offset was asked for.
	Resumed bool
	// Offset is where the body starts in the content: the asked Offset when Resumed,
	// else 0.
	Offset int64
	// Written counts the bytes Pull wrote to its writer.
	Written int64
}

// Open starts downloading version (0: the latest) of dir/id and returns what the
// headers say with the body, for the caller to read and close. Use it instead of
// Pull to decide where the bytes go once the response tells whether it is a range.
//
// Errors: NotFound, Invalid (a bad name, an unsatisfiable range), or a transport
// error.
func (c *Client) Open(ctx context.Context, dir, id string, version int64, o PullOptions) (*PullResult, io.ReadCloser, error) {
	p, err := artefactPath(dir, id, true)
	if err != nil {
		return nil, nil, err
	}
	u, err := c.urlOf(withVersion(p, version))
	if err != nil {
		return nil, nil, err
	}
	h := http.Header{}
	if o.Offset > 0 {
		h.Set("Range", "bytes="+strconv.FormatInt(o.Offset, 10)+"-")
		if o.IfRange != "" {
			h.Set("If-Range", quoteETag(o.IfRange))
		}
	}
	req, err := c.newRequest(ctx, http.MethodGet, u, nil, h)
	if err != nil {
		return nil, nil, err
	}
	// Ask for the bytes as stored: a transparently gunzipped body would not match
	// the digest or the Content-Length.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := c.send(req, name(dir, id, version))
	if err != nil {
		return nil, nil, err
	}
	res := &PullResult{Artefact: artefactFromHeader(resp.Header, dir, id)}
	switch resp.StatusCode {
	case http.StatusOK:
		res.Artefact.Size = resp.ContentLength
	case http.StatusPartialContent:
		start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != o.Offset || o.Offset == 0 {
			resp.Body.Close()
			return nil, nil, fmt.Errorf("GET %s: the server sent range %q for bytes=%d-", req.URL.Redacted(), resp.Header.Get("Content-Range"), o.Offset)
		}
		res.Resumed, res.Offset, res.Artefact.Size = true, start, total
	default:
		resp.Body.Close()
		return nil, nil, fmt.Errorf("GET %s: unexpected status %s", req.URL.Redacted(), resp.Status)
	}
	return res, resp.Body, nil
}

// Pull downloads version (0: the latest) of dir/id into w and returns what the
// headers said. With o.Offset it asks for the rest of the content only: check
// Resumed, which is false when the server sent the whole content instead (no range
// support, or IfRange no longer matches).
//
// When the whole content came (not Resumed), Pull checks its size and SHA-256 and
// returns an error wrapping ErrDigestMismatch if they are wrong (w has the bytes by
// then). A resumed download cannot be checked here: the caller holds the start.
//
// Errors: those of Open, a write error of w, a transport error while reading, or
// ErrDigestMismatch. The result is returned with every error after the response
// began, with Written set.
func (c *Client) Pull(ctx context.Context, dir, id string, version int64, w io.Writer, o PullOptions) (*PullResult, error) {
	res, body, err := c.Open(ctx, dir, id, version, o)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	var h hash.Hash
	dst := w
	if !res.Resumed {
		h = sha256.New()
		dst = io.MultiWriter(w, h)
	}
	res.Written, err = io.Copy(dst, body)
	if err != nil {
		return res, fmt.Errorf("downloading %s: %w", name(dir, id, version), err)
	}
	if h != nil {
		if err := CheckDigest(res.Artefact, res.Written, hex.EncodeToString(h.Sum(nil))); err != nil {
			return res, fmt.Errorf("downloading %s: %w", name(dir, id, version), err)
		}
	}
	return res, nil
}

// CheckDigest checks content of size bytes whose SHA-256 is sha (hex) against a's
// Size (when known) and SHA256, and returns an error wrapping ErrDigestMismatch
// when they differ or a has no digest to check against.
func CheckDigest(a *restkit.Artefact, size int64, sha string) error {
	switch {
	case a.Size >= 0 && size != a.Size:
		return fmt.Errorf("%w: got %d bytes, want %d", ErrDigestMismatch, size, a.Size)
	case a.SHA256 == "":
		return fmt.Errorf("%w: the server sent no digest (ETag or Repr-Digest)", ErrDigestMismatch)
	case !strings.EqualFold(sha, a.SHA256):
		return fmt.Errorf("%w: got %s, want %s", ErrDigestMismatch, sha, a.SHA256)
	}
	return nil
}

// Stat returns the metadata of version (0: the latest) of dir/id from a HEAD
// request: the fields PullResult.Artefact has.
//
// Errors: NotFound, Invalid (a bad name), or a transport error.
func (c *Client) Stat(ctx context.Context, dir, id string, version int64) (*restkit.Artefact, error) {
	p, err := artefactPath(dir, id, true)
	if err != nil {
		return nil, err
	}
	u, err := c.urlOf(withVersion(p, version))
	if err != nil {
		return nil, err
	}
	req, err := c.newRequest(ctx, http.MethodHead, u, nil, http.Header{"Accept-Encoding": {"identity"}})
	if err != nil {
		return nil, err
	}
	resp, err := c.send(req, name(dir, id, version))
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	a := artefactFromHeader(resp.Header, dir, id)
	a.Size = -1
	if n, err := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64); err == nil {
		a.Size = n
	}
	return a, nil
}

// ListOptions select and order the artefacts of a directory.
type ListOptions struct {
	Prefix string // only ids that start with it
	Sort   string // "name" (default), "updated" or "size"; "-name" etc. for descending
	Limit  int    // artefacts per page; 0: the server's default
	Cursor string // with ListPage: the page after this cursor (ListPage's next)
}

func (o ListOptions) query() url.Values {
	q := url.Values{}
	if o.Prefix != "" {
		q.Set("prefix", o.Prefix)
	}
	if o.Sort != "" {
		q.Set("sort", o.Sort)
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Cursor != "" {
		q.Set("cursor", o.Cursor)
	}
	return q
}

// List returns the latest version of every artefact of dir, in o's order: it
// follows the Link rel="next" of every page (o.Limit is the page size, not a cap).
// Use ListPage to read one page at a time.
//
// Errors: NotFound (no such directory), Invalid (a bad option), or a transport error.
func (c *Client) List(ctx context.Context, dir string, o ListOptions) ([]*restkit.Artefact, error) {
	p, err := artefactPath(dir, "", false)
	if err != nil {
		return nil, err
	}
	var out []*restkit.Artefact
	_, err = c.pages(ctx, withQuery(p, o.query()), dir, true, func(dec *json.Decoder) error {
		return decodeArtefacts(dec, &out)
	})
	return out, err
}

// ListPage returns one page of dir's artefacts and the cursor of the next page
// ("" on the last page): pass it back as o.Cursor.
func (c *Client) ListPage(ctx context.Context, dir string, o ListOptions) (arts []*restkit.Artefact, next string, err error) {
	p, err := artefactPath(dir, "", false)
	if err != nil {
		return nil, "", err
	}
	nextURL, err := c.pages(ctx, withQuery(p, o.query()), dir, false, func(dec *json.Decoder) error {
		return decodeArtefacts(dec, &arts)
	})
	if err != nil || nextURL == nil {
		return arts, "", err
	}
	return arts, nextURL.Query().Get("cursor"), nil
}

// Directories returns every directory of the repository, following paging links.
func (c *Client) Directories(ctx context.Context) ([]*restkit.DirectoryInfo, error) {
	var out []*restkit.DirectoryInfo
	_, err := c.pages(ctx, "/artefacts", "", true, func(dec *json.Decoder) error {
		var page []DirectoryJSON
		if err := dec.Decode(&page); err != nil {
			return err
		}
		for _, d := range page {
			out = append(out, &restkit.DirectoryInfo{Name: d.Name, Path: d.Name, Artefacts: d.Artefacts, Size: d.Size, Updated: d.Updated})
		}
		return nil
	})
	return out, err
}

// Versions returns every version of dir/id, newest first.
//
// Errors: NotFound, Invalid (a bad name), or a transport error.
func (c *Client) Versions(ctx context.Context, dir, id string) ([]*restkit.Artefact, error) {
	p, err := artefactPath(dir, id, true)
	if err != nil {
		return nil, err
	}
	var out []*restkit.Artefact
	_, err = c.pages(ctx, p+"/versions", name(dir, id, 0), true, func(dec *json.Decoder) error {
		return decodeArtefacts(dec, &out)
	})
	return out, err
}

// FindByDigest returns every version, in any directory, whose content has the
// SHA-256 sha (hex).
func (c *Client) FindByDigest(ctx context.Context, sha string) ([]*restkit.Artefact, error) {
	var out []*restkit.Artefact
	_, err := c.pages(ctx, withQuery("/artefacts", url.Values{"sha256": {strings.ToLower(sha)}}), "", true, func(dec *json.Decoder) error {
		return decodeArtefacts(dec, &out)
	})
	return out, err
}

// Delete deletes one version of dir/id (version > 0), the whole artefact (version
// 0), or with id "" the directory and everything in it.
//
// Errors: NotFound, Invalid (a bad name; a version without an id), or a transport
// error.
func (c *Client) Delete(ctx context.Context, dir, id string, version int64) error {
	if id == "" && version != 0 {
		return restkit.Errorf(restkit.Invalid, "a version needs an artefact id")
	}
	p, err := artefactPath(dir, id, false)
	if err != nil {
		return err
	}
	u, err := c.urlOf(withVersion(p, version))
	if err != nil {
		return err
	}
	req, err := c.newRequest(ctx, http.MethodDelete, u, nil, nil)
	if err != nil {
		return err
	}
	resp, err := c.send(req, name(dir, id, version))
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.Body.Close()
}

// pages GETs path and hands each page's body to decode; with all it follows the
// Link rel="next" of every page, else it returns the next page's URL (nil on the
// last page). A next link must stay on the server: the token is not sent elsewhere.
func (c *Client) pages(ctx context.Context, path, what string, all bool, decode func(*json.Decoder) error) (*url.URL, error) {
	u, err := c.urlOf(path)
	if err != nil {
		return nil, err
	}
	for {
		req, err := c.newRequest(ctx, http.MethodGet, u, nil, http.Header{"Accept": {"application/json"}})
		if err != nil {
			return nil, err
		}
		resp, err := c.send(req, what)
		if err != nil {
			return nil, err
		}
		err = decode(json.NewDecoder(resp.Body))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("GET %s: decoding the response: %w", req.URL.Redacted(), err)
		}
		next := nextLink(resp.Header)
		if next == "" {
			return nil, nil
		}
		nu, err := req.URL.Parse(next)
		if err != nil || nu.Scheme != c.base.Scheme || nu.Host != c.base.Host {
			return nil, fmt.Errorf("GET %s: the next page link %q leaves the server", req.URL.Redacted(), next)
		}
		if !all {
			return nu, nil
		}
		u = nu.String()
	}
}

// decodeArtefacts decodes a list of versions; the subdirectories of a directory
// listing are skipped (ListEntries returns them).
func decodeArtefacts(dec *json.Decoder, out *[]*restkit.Artefact) error {
	var page []struct {
		Type string `json:"type"`
		ArtefactJSON
	}
	if err := dec.Decode(&page); err != nil {
		return err
	}
	for i := range page {
		if page[i].Type != "directory" {
			*out = append(*out, page[i].Artefact())
		}
	}
	return nil
}

func withQuery(p string, q url.Values) string {
	if len(q) == 0 {
		return p
	}
	return p + "?" + q.Encode()
}

// nextLink returns the target of the rel="next" link of an RFC 8288 Link header.
func nextLink(h http.Header) string {
	for _, v := range h.Values("Link") {
		for {
			i := strings.IndexByte(v, '<')
			if i < 0 {
				break
			}
			j := strings.IndexByte(v[i:], '>')
			if j < 0 {
				break
			}
			target := v[i+1 : i+j]
			v = v[i+j+1:]
			params := v
			if k := strings.IndexByte(v, '<'); k >= 0 {
				params, v = v[:k], v[k:]
			}
			for _, p := range strings.Split(params, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
					continue
				}
				val = strings.Trim(strings.TrimRight(strings.TrimSpace(val), ", "), `"`)
				for _, rel := range strings.Fields(val) {
					if strings.EqualFold(rel, "next") {
						return target
					}
				}
			}
		}
	}
	return ""
}

// artefactFromHeader reads an artefact's metadata from the headers of a GET or
// HEAD of its content.
func artefactFromHeader(h http.Header, dir, id string) *restkit.Artefact {
	a := &restkit.Artefact{Directory: dir, ID: id, Size: -1, ContentType: h.Get("Content-Type")}
	a.SHA256 = unquoteETag(h.Get("ETag"))
	if !isHexSHA256(a.SHA256) {
		a.SHA256 = reprDigest(h.Get("Repr-Digest"))
	}
	if v, err := strconv.ParseInt(h.Get("X-Artefact-Version"), 10, 64); err == nil {
		a.Version = v
	}
	if t, err := http.ParseTime(h.Get("Last-Modified")); err == nil {
		a.Updated = t
	}
	if _, params, err := mime.ParseMediaType(h.Get("Content-Disposition")); err == nil {
		a.Filename = params["filename"]
	}
	return a
}

// quoteETag quotes a bare SHA-256 for If-Match and If-Range; "*" and quoted or weak
// tags go as they are.
func quoteETag(s string) string {
	if s == "*" || strings.HasPrefix(s, `"`) || strings.HasPrefix(s, "W/") {
		return s
	}
	return `"` + s + `"`
}

func unquoteETag(s string) string {
	s = strings.TrimPrefix(s, "W/")
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	return strings.ToLower(s)
}

func isHexSHA256(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// reprDigest returns the hex SHA-256 of a Repr-Digest (RFC 9530) header
// ("sha-256=:BASE64:"), or "".
func reprDigest(v string) string {
	for _, item := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok || !strings.EqualFold(k, "sha-256") || len(val) < 2 || val[0] != ':' || val[len(val)-1] != ':' {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(val[1 : len(val)-1])
		if err == nil && len(b) == sha256.Size {
			return hex.EncodeToString(b)
		}
	}
	return ""
}

// parseContentRange reads "bytes START-END/TOTAL"; TOTAL "*" gives -1.
func parseContentRange(v string) (start, total int64, ok bool) {
	rest, found := strings.CutPrefix(v, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	first, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 {
		return 0, 0, false
	}
	if tot == "*" {
		return start, -1, true
	}
	total, err = strconv.ParseInt(tot, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	return start, total, true
}
