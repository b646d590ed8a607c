package web

import (
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/artefact"
	"github.com/restkit/restkit/auth"
	"github.com/restkit/restkit/httpapi"
)

// The artefact browser: directories at any depth the repository allows (DESIGN §14:
// up to artefact.MaxDepth segments), their subdirectories and files, each file's
// versions; upload, download and delete.
//
// Its URLs follow the API's: below /ui/a/, a path that ends in a slash is a
// directory's page (/ui/a/org/app/1.2.0/), a path without one is an artefact's, its
// last segment the artefact's id (/ui/a/org/app/1.2.0/app.tgz). A path of one
// segment without the slash is always a directory, and is sent to its page; a longer
// one that names no artefact but a directory is sent there too (a link typed
// without its slash). Deletes are posted to the page's path plus /delete
// (/ui/a/org/app/delete, /ui/a/org/app/app.tgz/delete); whether the path before it
// is an artefact or a directory is the API's answer, exactly as the API decides
// its own DELETE (a path names one or the other, never both).
//
// The path is read from the request's escaped path, segment by segment, never from
// a {path...} wildcard (which unescapes %2F into a slash and so merges segments):
// each segment is unescaped on its own and must be a valid name
// (artefact.CheckName: not empty, not . or .., no slash, backslash, NUL or control
// character), so that %2e%2e, %2F or %00 in a segment is a 400 naming the rule and
// never a path the console builds for the API. Literal dot segments and empty
// segments (//) never get here: ServeMux redirects them to the cleaned path first.

func (c *console) routeArtefacts() {
	c.handle("GET "+Path+"/a/{$}", c.serveDirectories)
	c.handle("POST "+Path+"/a/upload", c.upload)
	c.handle("GET "+Path+"/a/{path...}", c.serveTree)
	c.handle("POST "+Path+"/a/{path...}", c.postTree)
}

// directory is a top-level directory, as the repository's root lists it.
type directory struct {
	Name      string    `json:"name"`
	Artefacts int64     `json:"artefacts"`
	Size      int64     `json:"size"`
	Updated   time.Time `json:"updated"`
}

// artefactMeta is one version of an artefact, as the API tells it.
type artefactMeta struct {
	Directory   string            `json:"directory"`
	ID          string            `json:"id"`
	Version     int64             `json:"version"`
	Size        int64             `json:"size"`
	SHA256      string            `json:"sha256"`
	ContentType string            `json:"content_type"`
	Properties  map[string]string `json:"properties"`
	Created     time.Time         `json:"created"`
	Updated     time.Time         `json:"updated"`
}

// listEntry is an entry of a directory's listing: a subdirectory (type "directory",
// name and path) or a file (type "file", and the latest version's metadata).
type listEntry struct {
	Type string `json:"type"`
	Name string `json:"name"`
	artefactMeta
}

// fileRow is a file of a directory's page, with its links.
type fileRow struct {
	artefactMeta
	Href     string // its page
	Download string // the API's URL of its latest version
}

type artefactsPage struct {
	Dir, ID     string // the directory's path ("org/app", "" on the root page) and the artefact's id
	Link        string // the page's own path: its form actions are built on it
	Download    string // an artefact page's API URL, for downloads
	Directories []directory
	Subdirs     []crumb // a directory's subdirectories, with their pages
	Files       []fileRow
	Versions    []artefactMeta
	Next        string
	API         string // the repository's API path, for the upload script
	Uploads     string // the tus endpoint, "" when resumable uploads are not served
	Events      string
	CSRF        string
	Properties  bool // some version has properties: the versions show a column of them
	CanWrite    bool
	CanDelete   bool
	Error       string
}

func (c *console) dirAccess(dir string) func(*auth.Authority) restkit.Access {
	return func(a *auth.Authority) restkit.Access { return a.DirectoryAccess(dir) }
}

func (c *console) artefactsPage(v *visit) artefactsPage {
	return artefactsPage{API: c.opts.Artefacts, Uploads: c.opts.Uploads, CSRF: v.csrf()}
}

// treeLink is the console's page of a directory (dir: with the trailing slash) or of
// an artefact, each segment escaped.
func treeLink(segs []string, dir bool) string {
	link := pathJoin(Path+"/a", segs...)
	if dir {
		link += "/"
	}
	return link
}

// apiPath is the API's URL path of a directory or artefact, each segment escaped.
func (c *console) apiPath(segs ...string) string { return pathJoin(c.opts.Artefacts, segs...) }

// apiDir is the API's URL of a directory for GET, HEAD and DELETE: with the trailing
// slash, which makes a reserved last segment (a directory called versions) a name
// rather than a sub-resource. On an artefact's path the slash changes nothing.
func (c *console) apiDir(segs []string) string { return c.apiPath(segs...) + "/" }

// splitTree reads the path below /ui/a/ of r: its segments, each unescaped on its
// own, and whether it ends in a slash. Invalid for a segment that is not validly
// percent-encoded or is empty.
func splitTree(r *http.Request) ([]string, bool, error) {
	rest := strings.TrimPrefix(r.URL.EscapedPath(), Path+"/a/")
	trimmed := strings.TrimSuffix(rest, "/")
	raw := strings.Split(trimmed, "/")
	segs := make([]string, len(raw))
	for i, s := range raw {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, false, restkit.Errorf(restkit.Invalid, "the path is not validly percent-encoded")
		}
		if u == "" {
			return nil, false, pathInvalid("must not have an empty segment")
		}
		segs[i] = u
	}
	return segs, trimmed != rest, nil
}

// checkTree checks the names of a path of the browser and returns them NFC, as the
// API stores them. dirs is how many of them are directories (the rest, at most one,
// is an artefact's id): at most artefact.MaxDepth.
func checkTree(segs []string, dirs int) ([]string, error) {
	if dirs > artefact.MaxDepth {
		return nil, pathInvalid("a directory has at most 8 segments, then the artefact's name")
	}
	out := make([]string, len(segs))
	for i, s := range segs {
		kind := "directory"
		if i >= dirs {
			kind = "artefact"
		}
		n, err := artefact.CheckName(kind, s)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

func pathInvalid(rule string) error {
	return &restkit.Error{Kind: restkit.Invalid, Message: "the artefact path " + rule,
		Fields: []restkit.FieldError{{Field: "path", Message: rule}}}
}

// dirCrumbs are the breadcrumbs of a directory: the repository, then one per
// segment, each a link to its directory; the last is a link only when linkLast.
func dirCrumbs(segs []string, linkLast bool) []crumb {
	crumbs := []crumb{{"artefacts", Path + "/a/"}}
	for i, s := range segs {
		href := treeLink(segs[:i+1], true)
		if i == len(segs)-1 && !linkLast {
			href = ""
		}
		crumbs = append(crumbs, crumb{s, href})
	}
	return crumbs
}

// serveDirectories lists the top-level directories the caller may read, and offers
// an upload into any directory, nested or not.
func (c *console) serveDirectories(w http.ResponseWriter, r *http.Request, v *visit) {
	p := c.artefactsPage(v)
	p.Link = Path + "/a/"
	rp := c.call(r, http.MethodGet, c.opts.Artefacts, nil)
	if !rp.ok() {
		c.fail(w, r, v, rp.err())
		return
	}
	if err := rp.decode(false, &p.Directories); err != nil {
		c.fail(w, r, v, err)
		return
	}
	p.CanWrite = c.may(v, func(a *auth.Authority) restkit.Access { return a.RepositoryOwnAccess() }, auth.Write)
	if c.opts.Events {
		p.Events = c.opts.Artefacts + "/events"
	}
	v.Title, v.Crumbs = "Artefacts", []crumb{{"artefacts", ""}}
	c.render(w, r, v, http.StatusOK, "directories", p)
}

// serveTree serves a directory's page or an artefact's (see the top of this file).
func (c *console) serveTree(w http.ResponseWriter, r *http.Request, v *visit) {
	segs, dirPage, err := splitTree(r)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	dirs := len(segs)
	if !dirPage && len(segs) > 1 {
		dirs--
	}
	if segs, err = checkTree(segs, dirs); err != nil {
		c.fail(w, r, v, err)
		return
	}
	switch {
	case dirPage:
		c.serveDirectory(w, r, v, segs)
	case len(segs) == 1: // a directory, named without its slash
		http.Redirect(w, r, treeLink(segs, true), http.StatusSeeOther)
	default:
		c.serveArtefact(w, r, v, segs[:len(segs)-1], segs[len(segs)-1])
	}
}

// serveDirectory lists a directory: its subdirectories the caller may read, then its
// artefacts (their latest versions), paged as the API pages them.
func (c *console) serveDirectory(w http.ResponseWriter, r *http.Request, v *visit, segs []string) {
	dir := strings.Join(segs, "/")
	p := c.artefactsPage(v)
	p.Dir, p.Link = dir, treeLink(segs, true)
	// An explicit limit also keeps an artefact's bytes out of this call: on an
	// artefact's path the API's download refuses the parameter (400) before it opens
	// anything, or counts a download.
	target := c.apiDir(segs) + "?limit=" + strconv.Itoa(restkit.DefaultPageSize)
	if cur := r.URL.Query().Get("cursor"); cur != "" {
		target += "&cursor=" + url.QueryEscape(cur)
	}
	rp := c.call(r, http.MethodGet, target, nil)
	if !rp.ok() {
		if rp.status == http.StatusBadRequest && len(segs) > 1 {
			if isFile, err := c.isArtefact(r, segs); err == nil && isFile { // an artefact's path with a slash
				http.Redirect(w, r, treeLink(segs, false), http.StatusSeeOther)
				return
			}
		}
		c.fail(w, r, v, rp.err())
		return
	}
	var entries []listEntry
	if err := rp.decode(false, &entries); err != nil {
		c.fail(w, r, v, err)
		return
	}
	for _, e := range entries {
		switch e.Type {
		case "directory":
			p.Subdirs = append(p.Subdirs, crumb{e.Name, treeLink(append(segs[:len(segs):len(segs)], e.Name), true)})
		case "file":
			file := append(segs[:len(segs):len(segs)], e.ID)
			p.Files = append(p.Files, fileRow{artefactMeta: e.artefactMeta, Href: treeLink(file, false), Download: c.apiPath(file...)})
		}
	}
	if cur, ok := parseLinks(rp.header.Values("Link"))["next"]; ok {
		p.Next = "?cursor=" + url.QueryEscape(cur)
	}
	p.CanWrite = c.may(v, c.dirAccess(dir), auth.Write)
	p.CanDelete = c.may(v, c.dirAccess(dir), auth.Delete)
	if c.opts.Events {
		p.Events = c.apiPath(segs...) + "/events"
	}
	v.Title = dir
	v.Crumbs = dirCrumbs(segs, false)
	c.render(w, r, v, http.StatusOK, "directory", p)
}

// serveArtefact lists one artefact's versions, newest first, each with its
// properties (DESIGN §14).
func (c *console) serveArtefact(w http.ResponseWriter, r *http.Request, v *visit, dirSegs []string, id string) {
	segs := append(dirSegs[:len(dirSegs):len(dirSegs)], id)
	dir := strings.Join(dirSegs, "/")
	p := c.artefactsPage(v)
	p.Dir, p.ID, p.Link, p.Download = dir, id, treeLink(segs, false), c.apiPath(segs...)
	rp := c.call(r, http.MethodGet, c.apiPath(segs...)+"/versions", nil)
	if !rp.ok() {
		if rp.status == http.StatusNotFound && c.isDirectory(r, segs) { // a directory's path without its slash
			http.Redirect(w, r, treeLink(segs, true), http.StatusSeeOther)
			return
		}
		c.fail(w, r, v, rp.err())
		return
	}
	if err := rp.decode(false, &p.Versions); err != nil {
		c.fail(w, r, v, err)
		return
	}
	for _, ver := range p.Versions {
		p.Properties = p.Properties || len(ver.Properties) > 0
	}
	p.CanWrite = c.may(v, c.dirAccess(dir), auth.Write)
	p.CanDelete = c.may(v, c.dirAccess(dir), auth.Delete)
	v.Title = id
	v.Crumbs = append(dirCrumbs(dirSegs, true), crumb{id, ""})
	c.render(w, r, v, http.StatusOK, "artefact", p)
}

// isArtefact asks the API whether a path of two or more segments names an artefact
// (rather than a directory), as the API decides it for its own GET and DELETE: a
// HEAD, which answers an artefact with its version's headers and counts no download.
// An error is the API's answer for a path that is neither, or that the caller may
// not read.
func (c *console) isArtefact(r *http.Request, segs []string) (bool, error) {
	if len(segs) < 2 {
		return false, nil
	}
	rp := c.call(r, http.MethodHead, c.apiDir(segs), nil)
	if !rp.ok() {
		return false, rp.err()
	}
	return rp.header.Get("X-Artefact-Version") != "", nil
}

// isDirectory reports whether the caller can list the directory segs (a page of one
// entry: on an artefact's path the API refuses the parameter).
func (c *console) isDirectory(r *http.Request, segs []string) bool {
	return c.call(r, http.MethodGet, c.apiDir(segs)+"?limit=1", nil).ok()
}

// nearestDirectory is the page of segs, or of its nearest ancestor the caller can
// still list, or the repository's: where to go after a delete, which may have
// emptied a directory (and so removed it: a directory is there while it holds an
// artefact) and its ancestors with it.
func (c *console) nearestDirectory(r *http.Request, segs []string) string {
	for n := len(segs); n > 0; n-- {
		if c.isDirectory(r, segs[:n]) {
			return treeLink(segs[:n], true)
		}
	}
	return Path + "/a/"
}

// upload takes a plain form upload (multipart: csrf, dir, then one or more files)
// and streams each file to PUT /artefacts/DIR/NAME, never holding it in memory. DIR
// may be nested (org/app/1.2.0), a slash between segments. The upload script does
// not come here: it PUTs to the API itself, for its progress bar.
func (c *console) upload(w http.ResponseWriter, r *http.Request, v *visit) {
	mr, err := r.MultipartReader()
	if err != nil {
		c.fail(w, r, v, restkit.Errorf(restkit.Invalid, "an upload is a multipart/form-data form"))
		return
	}
	var csrf, dir string
	var segs []string
	uploaded := 0
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			c.fail(w, r, v, restkit.Errorf(restkit.Invalid, "the upload form could not be read"))
			return
		}
		if part.FileName() == "" { // a small field before the files: csrf, dir
			b, _ := io.ReadAll(io.LimitReader(part, 4096))
			switch part.FormName() {
			case "csrf":
				csrf = string(b)
			case "dir":
				dir = string(b)
			}
			continue
		}
		if segs == nil {
			if segs, err = uploadDirectory(dir); err != nil {
				c.fail(w, r, v, err)
				return
			}
		}
		// The file's name is the artefact's id, checked here as the API checks an id:
		// a reserved name would otherwise reach the sub-resource of the directory's
		// path (a file called properties, uploaded "into" an artefact's path, would
		// set that artefact's properties).
		id, err := artefact.CheckID(part.FileName())
		if err != nil {
			c.fail(w, r, v, err)
			return
		}
		ct := part.Header.Get("Content-Type")
		if _, _, err := mime.ParseMediaType(ct); err != nil {
			ct = "application/octet-stream"
		}
		in := apiRequest(r, http.MethodPut, c.apiPath(append(segs[:len(segs):len(segs)], id)...), part,
			"Content-Type", ct, httpapi.CSRFHeader, csrf)
		in.ContentLength = -1 // streamed: the length is not known before the part ends
		rec := &recorder{header: http.Header{}}
		c.opts.API.ServeHTTP(rec, in)
		if rec.status >= 300 {
			c.fail(w, r, v, (&reply{status: rec.status, header: rec.header, body: rec.buf.Bytes()}).err())
			return
		}
		uploaded++
	}
	if uploaded == 0 {
		c.fail(w, r, v, restkit.Errorf(restkit.Invalid, "choose at least one file to upload"))
		return
	}
	http.Redirect(w, r, treeLink(segs, true), http.StatusSeeOther)
}

// uploadDirectory reads the directory an upload form names: a path of names
// separated by slashes (a slash before or after it is let pass), checked by the
// repository's own rule so that no segment can be empty, . or .. (which a URL would
// resolve away).
func uploadDirectory(s string) ([]string, error) {
	s = strings.Trim(strings.TrimSpace(s), "/")
	if s == "" {
		return nil, &restkit.Error{Kind: restkit.Invalid, Message: "name the directory to upload into",
			Fields: []restkit.FieldError{{Field: "dir", Message: "is required"}}}
	}
	dir, err := artefact.CheckDirectory(s)
	if err != nil {
		return nil, err
	}
	return strings.Split(dir, "/"), nil
}

// postTree serves the deletes: PATH/delete deletes the directory or artefact PATH
// (or, with version=N, one version of the artefact), once confirmed.
func (c *console) postTree(w http.ResponseWriter, r *http.Request, v *visit) {
	segs, trailing, err := splitTree(r)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	if trailing || len(segs) < 2 || segs[len(segs)-1] != "delete" {
		c.fail(w, r, v, restkit.Errorf(restkit.NotFound, "there is no form at %s", r.URL.Path))
		return
	}
	segs = segs[:len(segs)-1]
	dirs := len(segs)
	if dirs > 1 {
		dirs-- // the last may be an artefact's id: its directory is one shorter
	}
	if segs, err = checkTree(segs, dirs); err != nil {
		c.fail(w, r, v, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	_ = r.ParseForm()
	isFile, err := c.isArtefact(r, segs)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	ver := r.PostFormValue("version")
	if !isFile {
		if ver != "" {
			c.fail(w, r, v, restkit.Errorf(restkit.Invalid, "%s is a directory: it has no versions", strings.Join(segs, "/")))
			return
		}
		link := treeLink(segs, true)
		c.confirmed(w, r, v, "Delete the directory "+strings.Join(segs, "/")+" and everything in it?", link+"delete", link,
			c.apiDir(segs), func() string { return c.nearestDirectory(r, segs[:len(segs)-1]) })
		return
	}
	dirSegs, id := segs[:len(segs)-1], segs[len(segs)-1]
	back := treeLink(segs, false)
	target, question := c.apiPath(segs...), "Delete "+id+" and all its versions?"
	if ver != "" {
		if n, err := strconv.ParseInt(ver, 10, 64); err != nil || n < 1 {
			c.fail(w, r, v, restkit.Errorf(restkit.Invalid, "version must be a number from 1"))
			return
		}
		target += "?version=" + ver
		question = "Delete version " + ver + " of " + id + "?"
	}
	c.confirmed(w, r, v, question, back+"/delete", back, target, func() string {
		if ver != "" && c.call(r, http.MethodGet, c.apiPath(segs...)+"/versions", nil).ok() {
			return back // the artefact's other versions
		}
		return c.nearestDirectory(r, dirSegs)
	})
}

// confirmed sends DELETE target once the form says confirm=yes (the script's dialog
// adds it); without it, it shows a page that asks. done tells, after the delete,
// where the browser goes.
// The form is parsed already.
func (c *console) confirmed(w http.ResponseWriter, r *http.Request, v *visit, question, action, cancel, target string, done func() string) {
	if r.PostFormValue("confirm") != "yes" {
		v.Title = question
		hidden := map[string]string{}
		if ver := r.PostFormValue("version"); ver != "" {
			hidden["version"] = ver
		}
		c.render(w, r, v, http.StatusOK, "confirm", confirmPage{Question: question, Action: action, Cancel: cancel, CSRF: v.csrf(), Hidden: hidden})
		return
	}
	rp := c.callJSON(r, v, http.MethodDelete, target, nil)
	if !rp.ok() {
		c.fail(w, r, v, rp.err())
		return
	}
	http.Redirect(w, r, done(), http.StatusSeeOther)
}
