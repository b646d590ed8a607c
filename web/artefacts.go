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
	"github.com/restkit/restkit/auth"
	"github.com/restkit/restkit/httpapi"
)

// The artefact browser: directories, their files, each file's versions; upload,
// download and delete. Today the repository has one directory level (DIR/ID); the
// breadcrumbs already take any number of segments, for nested paths (DESIGN §14).

func (c *console) routeArtefacts() {
	c.handle("GET "+Path+"/a/{$}", c.serveDirectories)
	c.handle("GET "+Path+"/a/{dir}/{$}", c.serveDirectory)
	c.handle("GET "+Path+"/a/{dir}/{id}", c.serveArtefact)
	c.handle("POST "+Path+"/a/upload", c.upload)
	c.handle("POST "+Path+"/a/{dir}/delete", c.deleteDirectory)
	c.handle("POST "+Path+"/a/{dir}/{id}/delete", c.deleteArtefact)
}

type directory struct {
	Name      string    `json:"name"`
	Artefacts int64     `json:"artefacts"`
	Size      int64     `json:"size"`
	Updated   time.Time `json:"updated"`
}

type artefactMeta struct {
	Directory   string    `json:"directory"`
	ID          string    `json:"id"`
	Version     int64     `json:"version"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	ContentType string    `json:"content_type"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
}

type artefactsPage struct {
	Dir, ID     string
	Directories []directory
	Files       []artefactMeta
	Versions    []artefactMeta
	Next        string
	API         string // the repository's API path, for downloads and the upload script
	Uploads     string // the tus endpoint, "" when resumable uploads are not served
	Events      string
	CSRF        string
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

// serveDirectories lists the directories the caller may read, and offers an upload
// into a new one.
func (c *console) serveDirectories(w http.ResponseWriter, r *http.Request, v *visit) {
	p := c.artefactsPage(v)
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

// serveDirectory lists a directory's artefacts (their latest versions).
func (c *console) serveDirectory(w http.ResponseWriter, r *http.Request, v *visit) {
	dir := r.PathValue("dir")
	p := c.artefactsPage(v)
	p.Dir = dir
	target := pathJoin(c.opts.Artefacts, dir)
	if cur := r.URL.Query().Get("cursor"); cur != "" {
		target += "?cursor=" + url.QueryEscape(cur)
	}
	rp := c.call(r, http.MethodGet, target, nil)
	if !rp.ok() {
		c.fail(w, r, v, rp.err())
		return
	}
	if err := rp.decode(false, &p.Files); err != nil {
		c.fail(w, r, v, err)
		return
	}
	if cur, ok := parseLinks(rp.header.Values("Link"))["next"]; ok {
		p.Next = "?cursor=" + url.QueryEscape(cur)
	}
	p.CanWrite = c.may(v, c.dirAccess(dir), auth.Write)
	p.CanDelete = c.may(v, c.dirAccess(dir), auth.Delete)
	if c.opts.Events {
		p.Events = pathJoin(c.opts.Artefacts, dir) + "/events"
	}
	v.Title = dir
	v.Crumbs = []crumb{{"artefacts", Path + "/a/"}, {dir, ""}}
	c.render(w, r, v, http.StatusOK, "directory", p)
}

// serveArtefact lists one artefact's versions, newest first.
//
// Extension point (DESIGN §14, properties): each version's properties will be read
// from …/ID/properties?version=N and shown in its row.
func (c *console) serveArtefact(w http.ResponseWriter, r *http.Request, v *visit) {
	dir, id := r.PathValue("dir"), r.PathValue("id")
	p := c.artefactsPage(v)
	p.Dir, p.ID = dir, id
	rp := c.call(r, http.MethodGet, pathJoin(c.opts.Artefacts, dir, id)+"/versions", nil)
	if !rp.ok() {
		c.fail(w, r, v, rp.err())
		return
	}
	if err := rp.decode(false, &p.Versions); err != nil {
		c.fail(w, r, v, err)
		return
	}
	p.CanWrite = c.may(v, c.dirAccess(dir), auth.Write)
	p.CanDelete = c.may(v, c.dirAccess(dir), auth.Delete)
	v.Title = id
	v.Crumbs = []crumb{{"artefacts", Path + "/a/"}, {dir, Path + "/a/" + escapeSegment(dir) + "/"}, {id, ""}}
	c.render(w, r, v, http.StatusOK, "artefact", p)
}

// upload takes a plain form upload (multipart: csrf, dir, then one or more files)
// and streams each file to PUT /artefacts/DIR/NAME, never holding it in memory. The
// upload script does not come here: it PUTs to the API itself, for its progress bar.
func (c *console) upload(w http.ResponseWriter, r *http.Request, v *visit) {
	mr, err := r.MultipartReader()
	if err != nil {
		c.fail(w, r, v, restkit.Errorf(restkit.Invalid, "an upload is a multipart/form-data form"))
		return
	}
	var csrf, dir string
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
				dir = strings.TrimSpace(string(b))
			}
			continue
		}
		ct := part.Header.Get("Content-Type")
		if _, _, err := mime.ParseMediaType(ct); err != nil {
			ct = "application/octet-stream"
		}
		in := apiRequest(r, http.MethodPut, pathJoin(c.opts.Artefacts, dir, part.FileName()), part, "Content-Type", ct, httpapi.CSRFHeader, csrf)
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
	http.Redirect(w, r, Path+"/a/"+escapeSegment(dir)+"/", http.StatusSeeOther)
}

// deleteDirectory deletes a directory and everything in it, once confirmed.
func (c *console) deleteDirectory(w http.ResponseWriter, r *http.Request, v *visit) {
	dir := r.PathValue("dir")
	c.confirmed(w, r, v, "Delete the directory "+dir+" and every file in it?", Path+"/a/"+escapeSegment(dir)+"/delete",
		Path+"/a/"+escapeSegment(dir)+"/", pathJoin(c.opts.Artefacts, dir), Path+"/a/")
}

// deleteArtefact deletes an artefact, or one version of it (version=N), once confirmed.
func (c *console) deleteArtefact(w http.ResponseWriter, r *http.Request, v *visit) {
	dir, id := r.PathValue("dir"), r.PathValue("id")
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	_ = r.ParseForm()
	target, question := pathJoin(c.opts.Artefacts, dir, id), "Delete "+id+" and all its versions?"
	back, done := Path+"/a/"+escapeSegment(dir)+"/"+escapeSegment(id), Path+"/a/"+escapeSegment(dir)+"/"
	if ver := r.PostFormValue("version"); ver != "" {
		if _, err := strconv.ParseInt(ver, 10, 64); err != nil {
			c.fail(w, r, v, restkit.Errorf(restkit.Invalid, "version must be a number"))
			return
		}
		target += "?version=" + ver
		question, done = "Delete version "+ver+" of "+id+"?", back
	}
	c.confirmed(w, r, v, question, back+"/delete", back, target, done)
}

// confirmed sends DELETE target once the form says confirm=yes (the script's dialog
// adds it); without it, it shows a page that asks. done is where the browser goes after.
func (c *console) confirmed(w http.ResponseWriter, r *http.Request, v *visit, question, action, cancel, target, done string) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	_ = r.ParseForm()
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
	http.Redirect(w, r, done, http.StatusSeeOther)
}
