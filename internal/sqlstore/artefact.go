package sqlstore

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/restkit/restkit"
)

// ArtefactColumns are the columns of a version that ScanArtefact reads, in its
// order, from _restkit_artefact_versions v joined with _restkit_artefacts a.
const ArtefactColumns = `v.directory, v.id, v.version, v.size, v.sha256, v.content_type, v.filename, a.created, v.stored`

// ScanArtefact scans a row of ArtefactColumns. The row's own error (no rows) comes
// back as it is.
func ScanArtefact(row Scanner) (*restkit.Artefact, error) {
	a := &restkit.Artefact{}
	var created, stored string
	if err := row.Scan(&a.Directory, &a.ID, &a.Version, &a.Size, &a.SHA256, &a.ContentType, &a.Filename, &created, &stored); err != nil {
		return nil, err
	}
	var err error
	if a.Created, err = ParseTime(created); err != nil {
		return nil, err
	}
	if a.Updated, err = ParseTime(stored); err != nil {
		return nil, err
	}
	return a, nil
}

// ArtefactNotFound is NotFound for a version of an artefact, or for the artefact
// (version 0).
func ArtefactNotFound(dir, id string, version int64) error {
	if version > 0 {
		return restkit.Errorf(restkit.NotFound, "artefact %s/%s has no version %d", dir, id, version)
	}
	return restkit.Errorf(restkit.NotFound, "no artefact %s/%s", dir, id)
}

// artefactSorts maps a sort name to its column in _restkit_artefacts a.
var artefactSorts = map[string]string{"name": "a.id", "updated": "a.updated", "size": "a.size"}

// ArtefactSort reads restkit.ArtefactQuery.Sort — name (the default), updated or
// size, with "-" for descending — as the column of _restkit_artefacts a to order by
// (then by a.id); Invalid for any other.
func ArtefactSort(sort string) (col string, desc bool, err error) {
	name, desc := strings.CutPrefix(sort, "-")
	if name == "" {
		name = "name"
	}
	col, ok := artefactSorts[name]
	if !ok {
		return "", false, restkit.Errorf(restkit.Invalid, "sort must be name, updated or size, with - for descending")
	}
	return col, desc, nil
}

// AncestorArtefacts lists the artefact paths (directory, id) that are proper
// ancestors of an artefact in dir and could hold it as a directory: for dir a/b/c,
// (a, b) and (a/b, c). An artefact can be stored only while none of them exists.
func AncestorArtefacts(dir string) [][2]string {
	segs := strings.Split(dir, "/")
	var out [][2]string
	for k := 2; k <= len(segs); k++ {
		out = append(out, [2]string{strings.Join(segs[:k-1], "/"), segs[k-1]})
	}
	return out
}

// Ancestors lists dir and every directory above it, from the top: a, a/b, a/b/c.
func Ancestors(dir string) []string {
	segs := strings.Split(dir, "/")
	out := make([]string, len(segs))
	for k := range segs {
		out[k] = strings.Join(segs[:k+1], "/")
	}
	return out
}

// Below returns the bounds of the paths strictly below p, as bytes compare: every
// path that starts with p + "/" is in [lo, hi), because '0' is the byte after '/'.
func Below(p string) (lo, hi string) { return p + "/", p + "0" }

// PathIsDirectory is Conflict for an artefact whose path a directory has.
func PathIsDirectory(path string) error {
	return &restkit.Error{Kind: restkit.Conflict, Message: path + " is a directory: an artefact cannot have its path",
		Fields: []restkit.FieldError{{Field: "id", Message: "is a directory"}}}
}

// AncestorIsArtefact is Conflict for an artefact below another artefact.
func AncestorIsArtefact(path string) error {
	return &restkit.Error{Kind: restkit.Conflict, Message: path + " is an artefact: it cannot hold a directory",
		Fields: []restkit.FieldError{{Field: "directory", Message: path + " is an artefact"}}}
}

// UploadConflict is the Conflict of a resumable upload no longer at the offset a
// PATCH started from (another PATCH moved it on, or it is complete).
func UploadConflict(id string) error {
	return restkit.Errorf(restkit.Conflict, "upload %s has moved on (another PATCH, or it is complete); HEAD it for its offset", id)
}

// UploadNotFound is NotFound for a resumable upload.
func UploadNotFound(id string) error {
	return restkit.Errorf(restkit.NotFound, "no upload %s (it may have expired)", id)
}

// UploadColumns are the columns of _restkit_artefact_uploads that ScanUpload reads.
const UploadColumns = `id, owner, directory, artefact_id, length, received, parts, hash, sha256, content_type, filename, metadata, version, created, expires`

// ScanUpload scans a row of UploadColumns.
func ScanUpload(row Scanner) (*restkit.PendingUpload, error) {
	u := &restkit.PendingUpload{}
	var parts, created, expires string
	if err := row.Scan(&u.ID, &u.Owner, &u.Directory, &u.ArtefactID, &u.Length, &u.Offset, &parts, &u.Hash, &u.SHA256,
		&u.ContentType, &u.Filename, &u.Metadata, &u.Version, &created, &expires); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(parts), &u.Parts); err != nil {
		return nil, err
	}
	var err error
	if u.Created, err = ParseTime(created); err != nil {
		return nil, err
	}
	if u.Expires, err = ParseTime(expires); err != nil {
		return nil, err
	}
	return u, nil
}

// UploadValues are the values of UploadColumns for an INSERT.
func UploadValues(u *restkit.PendingUpload) []any {
	parts, _ := json.Marshal(append([]string{}, u.Parts...))
	return []any{u.ID, u.Owner, u.Directory, u.ArtefactID, u.Length, u.Offset, string(parts), append([]byte{}, u.Hash...), u.SHA256,
		u.ContentType, u.Filename, u.Metadata, u.Version, FormatTime(u.Created), FormatTime(u.Expires)}
}

// AppendPart returns the parts list with one more part, as stored.
func AppendPart(parts []string, part string) string {
	b, _ := json.Marshal(append(append([]string{}, parts...), part))
	return string(b)
}

// TopLevel folds the totals of directories into those of the top-level directories
// they lie in, by name.
func TopLevel(dirs []*restkit.DirectoryInfo) []*restkit.DirectoryInfo {
	byName := map[string]*restkit.DirectoryInfo{}
	out := []*restkit.DirectoryInfo{}
	for _, d := range dirs {
		top, _, _ := strings.Cut(d.Name, "/")
		t := byName[top]
		if t == nil {
			t = &restkit.DirectoryInfo{Name: top, Path: top}
			byName[top] = t
			out = append(out, t)
		}
		t.Artefacts += d.Artefacts
		t.Size += d.Size
		if d.Updated.After(t.Updated) {
			t.Updated = d.Updated
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
