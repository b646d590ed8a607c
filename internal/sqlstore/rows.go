package sqlstore

import "github.com/restkit/restkit"

// Rows is a result set of either driver: *sql.Rows or pgx.Rows. Closing it stays
// with the caller (the two Close methods differ).
type Rows interface {
	Scanner
	Next() bool
	Err() error
}

// Collect scans every row of rows with scan and appends the results to out, which
// says what an empty result is (nil, or an empty slice that encodes as []). It stops
// at the first error, from scan or from the result set.
func Collect[T any](rows Rows, out []T, scan func(Scanner) (T, error)) ([]T, error) {
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// ScanDirectoryInfo scans a row of a top-level directory: name, artefacts, size,
// updated.
func ScanDirectoryInfo(row Scanner) (*restkit.DirectoryInfo, error) {
	d := &restkit.DirectoryInfo{}
	var updated string
	if err := row.Scan(&d.Name, &d.Artefacts, &d.Size, &updated); err != nil {
		return nil, err
	}
	var err error
	d.Updated, err = ParseTime(updated)
	return d, err
}

// ScanVersionUse scans a row of ArtefactColumns followed by the version's last
// download time ("" for never).
func ScanVersionUse(row Scanner) (*restkit.VersionUse, error) {
	var downloaded string
	a, err := ScanArtefact(scanExtra{row, &downloaded})
	if err != nil {
		return nil, err
	}
	u := &restkit.VersionUse{Artefact: a}
	if downloaded != "" {
		if u.Downloaded, err = ParseTime(downloaded); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// scanExtra scans a row of ArtefactColumns followed by more columns.
type scanExtra struct {
	row   Scanner
	extra any
}

func (s scanExtra) Scan(dest ...any) error { return s.row.Scan(append(dest, s.extra)...) }
