package httpapi

import (
	"encoding/base64"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/artefact"
)

// Resumable uploads: the tus 1.0 core protocol with its creation, termination and
// checksum extensions (https://tus.io/protocols/resumable-upload), served at
// /_uploads. Written here rather than with tusd: tusd brings its own stores (files
// named by upload, S3 multipart), its own locking and its own errors, where restkit
// needs the bytes content-addressed through restkit.BlobStore, the state in the
// metadata store beside the versions, the one access guard, problem+json errors and
// one transaction for "complete the upload, add the version". The subset is small:
//
//	OPTIONS /_uploads        Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm
//	POST    /_uploads        Upload-Length, Upload-Metadata: path <base64 DIR/ID>[, filename, filetype, sha256] → 201 + Location
//	HEAD    /_uploads/{id}   Upload-Offset, Upload-Length (Cache-Control: no-store)
//	PATCH   /_uploads/{id}   Upload-Offset, Content-Type: application/offset+octet-stream[, Upload-Checksum] → 204 + Upload-Offset
//	DELETE  /_uploads/{id}   termination → 204
//
// Every request but OPTIONS must say Tus-Resumable: 1.0.0 (412 otherwise, tus §3.2);
// every answer says it. An upload belongs to the caller that created it (403 for
// anyone else) and needs the write access of its directory on every request.

const (
	tusVersion    = "1.0.0"
	tusExtensions = "creation,termination,checksum"
	UploadsPath   = "/_uploads" // the tus endpoint (DESIGN §14)
	allowUploads  = "POST, OPTIONS"
	allowUpload   = "HEAD, PATCH, DELETE, OPTIONS"
	mediaOffset   = "application/offset+octet-stream"
)

// routeUploads registers /_uploads and /_uploads/{id}.
func (s *Server) routeUploads(repo *artefact.Repository) {
	h := &artefactHandler{s: s, repo: repo, base: s.artefacts}
	create, resume := s.uploadGuard(repo, false), s.uploadGuard(repo, true)
	create.enabled, resume.enabled = s.artefactsOn, s.artefactsOn
	s.route(UploadsPath, allowUploads, create, h.serveCreateUpload)
	s.route(UploadsPath+"/{upload}", allowUpload, resume, h.serveUpload)
}

// uploadGuard resolves the Access of the directory an upload goes to (named in the
// creation's Upload-Metadata, or by the upload), in which every verb needs write.
func (s *Server) uploadGuard(repo *artefact.Repository, existing bool) guard {
	g := guard{rule: "artefacts:upload"}
	if s.auth == nil {
		return g
	}
	g.access = func(r *http.Request) restkit.Access {
		acc := s.auth.RepositoryOwnAccess()
		if existing {
			u, err := repo.FindUpload(r.Context(), r.PathValue("upload"), ownerOf(r))
			if err != nil { // unknown, expired or another's: any signed-in caller is told so (404, 403)
				signedIn := []string{"*"}
				return restkit.Access{Read: signedIn, Write: signedIn, Delete: signedIn, Anonymous: restkit.AnonymousNone}
			}
			acc = s.auth.DirectoryAccess(u.Directory)
		} else if md, err := parseUploadMetadata(r.Header.Get("Upload-Metadata")); err == nil {
			if dir, _, err := uploadPath(md["path"]); err == nil {
				acc = s.auth.DirectoryAccess(dir)
			}
		}
		acc.Read, acc.Delete, acc.Anonymous = acc.Write, acc.Write, restkit.AnonymousNone
		return acc
	}
	return g
}

// ownerOf is who an upload belongs to: the signed-in user, or "" without auth.
func ownerOf(r *http.Request) string {
	if p := principalOf(r); p != nil {
		return p.User
	}
	return ""
}

// tusPreamble sets Tus-Resumable, answers OPTIONS, and refuses a request without the
// protocol version (412 with Tus-Version); it reports whether the handler goes on.
func (h *artefactHandler) tusPreamble(w http.ResponseWriter, r *http.Request, allow string) bool {
	hdr := w.Header()
	hdr.Set("Tus-Resumable", tusVersion)
	if r.Method == http.MethodOptions {
		hdr.Set("Tus-Version", tusVersion)
		hdr.Set("Tus-Extension", tusExtensions)
		hdr.Set("Tus-Checksum-Algorithm", strings.Join(artefact.ChecksumAlgorithms, ","))
		if max := h.repo.Policy().MaxSize; max > 0 {
			hdr.Set("Tus-Max-Size", strconv.FormatInt(max, 10))
		}
	}
	if !h.verbs(w, r, allow) {
		return false
	}
	if r.Header.Get("Tus-Resumable") != tusVersion {
		hdr.Set("Tus-Version", tusVersion)
		h.fail(w, r, &restkit.Error{Kind: restkit.PreconditionFailed, Message: "this server speaks tus " + tusVersion + ": send Tus-Resumable: " + tusVersion,
			Fields: []restkit.FieldError{{Field: "Tus-Resumable", Message: "must be " + tusVersion}}})
		return false
	}
	return true
}

// parseUploadMetadata reads Upload-Metadata: comma-separated "key base64value" pairs
// (tus §5.3.2, creation), the value optional.
func parseUploadMetadata(v string) (map[string]string, error) {
	out := map[string]string{}
	bad := func(msg string) (map[string]string, error) {
		return nil, &restkit.Error{Kind: restkit.Invalid, Message: "invalid Upload-Metadata",
			Fields: []restkit.FieldError{{Field: "Upload-Metadata", Message: msg}}}
	}
	if strings.TrimSpace(v) == "" {
		return out, nil
	}
	for _, pair := range strings.Split(v, ",") {
		fields := strings.Fields(pair)
		if len(fields) == 0 || len(fields) > 2 {
			return bad("each pair is a key, a space and a base64 value")
		}
		if _, dup := out[fields[0]]; dup {
			return bad("key " + fields[0] + " is given twice")
		}
		val := ""
		if len(fields) == 2 {
			b, err := base64.StdEncoding.DecodeString(fields[1])
			if err != nil {
				return bad("the value of " + fields[0] + " is not base64")
			}
			val = string(b)
		}
		out[fields[0]] = val
	}
	return out, nil
}

// uploadPath splits the metadata's path (DIR/ID) and checks both parts.
func uploadPath(p string) (dir, id string, err error) {
	i := strings.LastIndexByte(p, '/')
	if p == "" || i < 0 {
		return "", "", &restkit.Error{Kind: restkit.Invalid, Message: "invalid Upload-Metadata",
			Fields: []restkit.FieldError{{Field: "path", Message: "Upload-Metadata needs path: the base64 of DIR/ID, the artefact to make"}}}
	}
	if dir, err = artefact.CheckDirectory(p[:i]); err != nil {
		return "", "", err
	}
	if id, err = artefact.CheckID(p[i+1:]); err != nil {
		return "", "", err
	}
	return dir, id, nil
}

// serveCreateUpload creates an upload (tus creation).
func (h *artefactHandler) serveCreateUpload(w http.ResponseWriter, r *http.Request) {
	if !h.tusPreamble(w, r, allowUploads) {
		return
	}
	n, err := h.newUpload(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	u, err := h.repo.CreateUpload(writeContext(r), n)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hdr := w.Header()
	hdr.Set("Location", UploadsPath+"/"+u.ID)
	hdr.Set("Upload-Offset", "0")
	hdr.Set("Upload-Expires", u.Expires.UTC().Format(http.TimeFormat))
	w.WriteHeader(http.StatusCreated)
}

// newUpload reads a creation request.
func (h *artefactHandler) newUpload(r *http.Request) (artefact.NewUpload, error) {
	var n artefact.NewUpload
	invalid := func(field, msg string) error {
		return &restkit.Error{Kind: restkit.Invalid, Message: "invalid upload", Fields: []restkit.FieldError{{Field: field, Message: msg}}}
	}
	if _, err := onlyParams(r); err != nil {
		return n, err
	}
	if r.ContentLength != 0 {
		return n, invalid("body", "creation takes no body: PATCH the bytes to the upload's Location")
	}
	if r.Header.Get("Upload-Defer-Length") != "" {
		return n, invalid("Upload-Defer-Length", "is not supported: send Upload-Length")
	}
	length, err := strconv.ParseInt(r.Header.Get("Upload-Length"), 10, 64)
	if err != nil || length < 0 {
		return n, invalid("Upload-Length", "must be the length of the whole upload in bytes")
	}
	md, err := parseUploadMetadata(r.Header.Get("Upload-Metadata"))
	if err != nil {
		return n, err
	}
	if n.Directory, n.ID, err = uploadPath(md["path"]); err != nil {
		return n, err
	}
	if name := md["filename"]; name != "" {
		if n.Filename, err = artefact.CheckName("file", name); err != nil {
			return n, err
		}
	}
	n.ContentType = md["filetype"]
	if _, _, err := mime.ParseMediaType(n.ContentType); err != nil {
		n.ContentType = ""
	}
	if n.SHA256, err = claimedDigest(r.Header, false); err != nil {
		return n, err
	}
	if s := md["sha256"]; s != "" {
		d, err := checkDigest("sha256", s)
		if err != nil || (n.SHA256 != "" && d != n.SHA256) {
			return n, invalid("sha256", "must be the hex SHA-256 of the content, agreeing with X-Checksum-Sha256")
		}
		n.SHA256 = d
	}
	n.Length, n.Owner, n.Metadata = length, ownerOf(r), r.Header.Get("Upload-Metadata")
	return n, nil
}

// serveUpload answers HEAD (the offset), PATCH (more bytes) and DELETE (termination).
func (h *artefactHandler) serveUpload(w http.ResponseWriter, r *http.Request) {
	if !h.tusPreamble(w, r, allowUpload) {
		return
	}
	if _, err := onlyParams(r); err != nil {
		h.fail(w, r, err)
		return
	}
	id := r.PathValue("upload")
	switch r.Method {
	case http.MethodHead:
		u, err := h.repo.FindUpload(r.Context(), id, ownerOf(r))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		hdr := w.Header()
		hdr.Set("Cache-Control", "no-store")
		hdr.Set("Upload-Length", strconv.FormatInt(u.Length, 10))
		if u.Metadata != "" {
			hdr.Set("Upload-Metadata", u.Metadata)
		}
		h.offsetHeaders(w, u)
		w.WriteHeader(http.StatusOK)
	case http.MethodDelete:
		if err := h.repo.TerminateUpload(writeContext(r), id, ownerOf(r)); err != nil {
			h.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		h.patchUpload(w, r, id)
	}
}

// offsetHeaders says where an upload stands; a complete one names its version.
func (h *artefactHandler) offsetHeaders(w http.ResponseWriter, u *restkit.PendingUpload) {
	hdr := w.Header()
	hdr.Set("Upload-Offset", strconv.FormatInt(u.Offset, 10))
	hdr.Set("Upload-Expires", u.Expires.UTC().Format(http.TimeFormat))
	if u.Version > 0 {
		hdr.Set("Content-Location", h.artefactURL(u.Directory+"/"+u.ArtefactID)+"?version="+strconv.FormatInt(u.Version, 10))
		hdr.Set("X-Artefact-Version", strconv.FormatInt(u.Version, 10))
	}
}

// patchUpload takes the bytes of a PATCH.
func (h *artefactHandler) patchUpload(w http.ResponseWriter, r *http.Request, id string) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != mediaOffset {
		h.fail(w, r, restkit.Errorf(restkit.UnsupportedMedia, "a PATCH of an upload is %s", mediaOffset))
		return
	}
	offset, err := strconv.ParseInt(r.Header.Get("Upload-Offset"), 10, 64)
	if err != nil || offset < 0 {
		h.fail(w, r, &restkit.Error{Kind: restkit.Invalid, Message: "invalid PATCH",
			Fields: []restkit.FieldError{{Field: "Upload-Offset", Message: "must be the offset the bytes start at"}}})
		return
	}
	sum, err := uploadChecksum(r.Header.Get("Upload-Checksum"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	u, a, err := h.repo.WriteUpload(r.Context(), id, ownerOf(r), artefact.Chunk{Offset: offset, Body: r.Body, Length: r.ContentLength, Checksum: sum})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.offsetHeaders(w, u)
	if a != nil {
		w.Header().Set("ETag", etagOfArtefact(a))
	}
	w.WriteHeader(http.StatusNoContent)
}

// uploadChecksum reads Upload-Checksum: "<algorithm> <base64 of the digest>".
func uploadChecksum(v string) (*artefact.Checksum, error) {
	if v == "" {
		return nil, nil
	}
	bad := &restkit.Error{Kind: restkit.Invalid, Message: "invalid Upload-Checksum",
		Fields: []restkit.FieldError{{Field: "Upload-Checksum", Message: "must be an algorithm (" + strings.Join(artefact.ChecksumAlgorithms, ", ") + "), a space and the base64 digest"}}}
	alg, b64, ok := strings.Cut(strings.TrimSpace(v), " ")
	sum, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if !ok || err != nil {
		return nil, bad
	}
	want := map[string]int{"sha1": 20, "sha256": 32, "md5": 16}[alg]
	if want == 0 || len(sum) != want {
		return nil, bad
	}
	return &artefact.Checksum{Algorithm: alg, Sum: sum}, nil
}
