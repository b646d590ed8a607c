package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/artefact"
	"github.com/restkit/restkit/auth"
)

// Paths below the repository's root (DESIGN §14): /artefacts/org/app/1.2.0/app.tgz is
// the artefact app.tgz of the directory org/app/1.2.0; a last segment versions,
// properties or events names a sub-resource of the path before it. A path names an
// artefact or a directory, never both (the stores refuse the second), so a GET or a
// DELETE of a path of two or more segments is the artefact's when it exists and the
// directory's otherwise; writes always mean the artefact.

// target kinds
const (
	targetUnresolved = iota
	targetArtefact
	targetDirectory
)

// artefactTarget is what a path below the root names: read once per request, before
// the guard (which needs the directory to find the access rule) and the handler.
type artefactTarget struct {
	segs []string // checked, NFC segments, without the sub-resource
	sub  string   // "versions", "properties", "events" or ""
	err  error    // a bad path, answered by the handler after the guard
	kind int
	dir  string // the directory the target is in (artefacts) or is (directories)
	id   string // the artefact, for artefacts and sub-resources
	// missing is the NotFound of the artefact a path of two or more segments might
	// have named, when it resolved to a directory for want of one.
	missing error
}

type targetKey struct{}

func targetOf(r *http.Request) *artefactTarget {
	t, _ := r.Context().Value(targetKey{}).(*artefactTarget)
	return t
}

// serveWithTarget parses the path below the root (its escaped form: a %2F inside a
// segment is a slash in a name, which the name rules refuse) and serves next.
func (h *artefactHandler) serveWithTarget(w http.ResponseWriter, r *http.Request, next http.HandlerFunc) {
	rest := r.URL.EscapedPath()
	for _, root := range h.s.artefactRoots {
		if after, ok := strings.CutPrefix(rest, root+"/"); ok {
			rest = after
			break
		}
	}
	trimmed := strings.TrimSuffix(rest, "/")
	t := parseTarget(trimmed, r.Method, trimmed != rest)
	next(w, r.WithContext(context.WithValue(r.Context(), targetKey{}, t)))
}

// parseTarget reads the segments of a path below the root. A trailing slash makes a
// reserved last segment a name (the directory versions/ of a path).
func parseTarget(rest, method string, trailing bool) *artefactTarget {
	t := &artefactTarget{}
	raw := strings.Split(rest, "/")
	segs := make([]string, len(raw))
	for i, s := range raw {
		u, err := url.PathUnescape(s)
		if err != nil {
			t.err = restkit.Errorf(restkit.Invalid, "the path is not validly percent-encoded")
			return t
		}
		segs[i] = u
	}
	if last := segs[len(segs)-1]; artefact.IsReserved(last) && (len(segs) >= 2 || last == "events") && !(trailing && method != http.MethodPost && method != http.MethodPut) {
		write := method == http.MethodPost || (method == http.MethodPut && last != "properties")
		if write {
			_, t.err = artefact.CheckID(last) // the 400 naming the rule
			return t
		}
		t.sub, segs = last, segs[:len(segs)-1]
	}
	if len(segs) == 0 || (len(segs) == 1 && segs[0] == "") { // /artefacts/events
		return t
	}
	if len(segs) > artefact.MaxDepth+1 || (t.sub != "" && t.sub != "events" && len(segs) < 2) {
		if len(segs) > artefact.MaxDepth+1 {
			t.err = &restkit.Error{Kind: restkit.Invalid, Message: "artefact path is too deep",
				Fields: []restkit.FieldError{{Field: "path", Message: "a directory has at most 8 segments, then the artefact's name"}}}
		} else {
			t.err = restkit.Errorf(restkit.NotFound, "%s is a directory: it has no %s (a directory named %s is listed at its path with a trailing slash)", segs[0], t.sub, t.sub)
		}
		return t
	}
	for i, s := range segs {
		kind := "directory"
		if i == len(segs)-1 && len(segs) > 1 {
			kind = "artefact"
		}
		n, err := artefact.CheckName(kind, s)
		if err != nil {
			t.err = err
			return t
		}
		segs[i] = n
	}
	t.segs = segs
	switch {
	case len(segs) == 1:
		t.kind, t.dir = targetDirectory, segs[0]
	case t.sub != "" || method == http.MethodPost || method == http.MethodPut:
		t.kind, t.dir, t.id = targetArtefact, strings.Join(segs[:len(segs)-1], "/"), segs[len(segs)-1]
		if t.sub == "" {
			_, t.err = artefact.CheckID(t.id)
		}
	default:
		t.dir, t.id = strings.Join(segs[:len(segs)-1], "/"), segs[len(segs)-1]
	}
	return t
}

// resolve decides whether a path of two or more segments is the artefact's or the
// directory's (a lookup of the artefact).
func (t *artefactTarget) resolve(ctx context.Context, repo *artefact.Repository) error {
	if t.kind != targetUnresolved || t.err != nil || t.segs == nil {
		return nil
	}
	_, err := repo.Find(ctx, t.dir, t.id, 0)
	switch {
	case err == nil:
		t.kind = targetArtefact
	case restkit.IsKind(err, restkit.NotFound):
		t.kind, t.dir, t.id, t.missing = targetDirectory, strings.Join(t.segs, "/"), "", err
	default:
		return err
	}
	return nil
}

// treeGuard resolves the Access of the directory a path is in or names: the names
// are normalised exactly as the handler will store them, so a rule cannot be
// sidestepped by spelling a name another way (NFD for NFC); a path the handler will
// refuse, and the repository's own event stream, get the repository's Access.
func (s *Server) treeGuard(repo *artefact.Repository) guard {
	g := guard{rule: "artefacts:directory"}
	if s.auth == nil {
		return g
	}
	g.access = func(r *http.Request) restkit.Access {
		t := targetOf(r)
		if t == nil || t.err != nil || t.segs == nil {
			return s.auth.RepositoryOwnAccess()
		}
		if err := t.resolve(r.Context(), repo); err != nil {
			t.err = err
			return s.auth.RepositoryOwnAccess()
		}
		return s.auth.DirectoryAccess(t.dir)
	}
	return g
}

// serveTree serves every path below the root.
func (h *artefactHandler) serveTree(w http.ResponseWriter, r *http.Request) {
	t := targetOf(r)
	allow := allowArtefact
	switch {
	case t.sub == "versions":
		allow = allowVersions
	case t.sub == "properties":
		allow = allowProperties
	case len(t.segs) == 1 && t.sub == "":
		allow = allowDirectory
	case t.sub == "events":
		allow = allowRoot
	}
	if !h.verbs(w, r, allow) {
		return
	}
	if t.err == nil {
		t.err = t.resolve(r.Context(), h.repo)
	}
	if t.err != nil {
		h.fail(w, r, t.err)
		return
	}
	switch {
	case t.sub == "events":
		h.serveEvents(w, r, strings.Join(t.segs, "/"))
	case t.sub == "versions":
		h.serveVersions(w, r, t.dir, t.id)
	case t.sub == "properties":
		h.serveProperties(w, r, t.dir, t.id)
	case r.Method == http.MethodPost || r.Method == http.MethodPut:
		h.upload(w, r, t.dir, t.id)
	case t.missing != nil && r.URL.Query().Has("version"):
		h.fail(w, r, t.missing) // a version of an artefact that is not there
	case t.kind == targetDirectory && r.Method == http.MethodDelete:
		h.deleteDirectory(w, r, t.dir)
	case t.kind == targetDirectory:
		h.serveDirectory(w, r, t.dir)
	case r.Method == http.MethodDelete:
		h.deleteArtefact(w, r, t.dir, t.id)
	default:
		h.download(w, r, t.dir, t.id)
	}
}

func (h *artefactHandler) deleteDirectory(w http.ResponseWriter, r *http.Request, dir string) {
	if _, err := onlyParams(r); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.repo.Delete(r.Context(), dir, "", 0); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *artefactHandler) deleteArtefact(w http.ResponseWriter, r *http.Request, dir, id string) {
	q, err := onlyParams(r, "version")
	var version int64
	if err == nil {
		version, err = parseVersion(q)
	}
	if err == nil {
		err = h.repo.Delete(r.Context(), dir, id, version)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *artefactHandler) serveVersions(w http.ResponseWriter, r *http.Request, dir, id string) {
	if _, err := onlyParams(r); err != nil {
		h.fail(w, r, err)
		return
	}
	media, err := negotiate(r, mediaJSON, mediaXML, mediaCSV)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	list, err := h.repo.Versions(r.Context(), dir, id)
	if err == nil {
		err = h.repo.WithProperties(r.Context(), list...)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeArtefacts(w, media, toJSONList(list))
}

// mayReadDirectory reports whether the caller of r may read dir (listings show only
// those; deploys by checksum use only content they hold).
func (h *artefactHandler) mayRead(r *http.Request, dir string) bool {
	if h.s.auth == nil {
		return true
	}
	return h.s.auth.Decide(principalOf(r), h.s.auth.DirectoryAccess(dir), auth.Read) == auth.Allowed
}

// artefactURL is the escaped URL path of an artefact or directory.
func (h *artefactHandler) artefactURL(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return h.base + "/" + strings.Join(segs, "/")
}
