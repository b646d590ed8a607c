package sqlstore

import (
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
