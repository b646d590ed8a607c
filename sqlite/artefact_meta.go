package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"
)

// Properties, downloads and the walk of every version (cleanup policies).

// SetProperties replaces the properties of one version (0: the latest).
func (s *Store) SetProperties(ctx context.Context, dir, id string, version int64, props map[string]string) (*restkit.Artefact, error) {
	const op = "sqlite.SetProperties"
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer tx.Rollback()
	q := `SELECT ` + sqlstore.ArtefactColumns + versionJoin + ` WHERE v.directory = ? AND v.id = ? AND v.version = `
	args := []any{dir, id}
	if version > 0 {
		q, args = q+`?`, append(args, version)
	} else {
		q += `a.latest`
	}
	a, err := sqlstore.ScanArtefact(tx.QueryRowContext(ctx, q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, sqlstore.ArtefactNotFound(dir, id, version)
	}
	if err != nil {
		return nil, wrap(op, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM _restkit_artefact_properties WHERE directory = ? AND id = ? AND version = ?`, dir, id, a.Version); err != nil {
		return nil, wrap(op, err)
	}
	for _, k := range slices.Sorted(maps.Keys(props)) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO _restkit_artefact_properties (directory, id, version, key, value) VALUES (?, ?, ?, ?, ?)`,
			dir, id, a.Version, k, props[k]); err != nil {
			return nil, wrap(op, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, wrap(op, err)
	}
	a.Properties = map[string]string{}
	for k, v := range props {
		a.Properties[k] = v
	}
	return a, nil
}

// LoadProperties fills the properties of each version, a page at a time.
func (s *Store) LoadProperties(ctx context.Context, as []*restkit.Artefact) error {
	for start := 0; start < len(as); start += 100 {
		page := as[start:min(start+100, len(as))]
		byKey := map[restkit.VersionKey]*restkit.Artefact{}
		var b strings.Builder
		var args []any
		b.WriteString(`SELECT directory, id, version, key, value FROM _restkit_artefact_properties WHERE (directory, id, version) IN (VALUES `)
		for i, a := range page {
			a.Properties = map[string]string{}
			byKey[restkit.VersionKey{Directory: a.Directory, ID: a.ID, Version: a.Version}] = a
			if i > 0 {
				b.WriteString(`, `)
			}
			b.WriteString(`(?, ?, ?)`)
			args = append(args, a.Directory, a.ID, a.Version)
		}
		b.WriteString(`)`)
		rows, err := s.r.QueryContext(ctx, b.String(), args...)
		if err != nil {
			return wrap("sqlite.LoadProperties", err)
		}
		for rows.Next() {
			var k restkit.VersionKey
			var key, value string
			if err := rows.Scan(&k.Directory, &k.ID, &k.Version, &key, &value); err != nil {
				rows.Close()
				return wrap("sqlite.LoadProperties", err)
			}
			if a := byKey[k]; a != nil {
				a.Properties[key] = value
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return wrap("sqlite.LoadProperties", err)
		}
	}
	return nil
}

// FindByProperties returns a page of the versions holding every pair of q.Match,
// driven by the index on (key, value) of the first pair.
func (s *Store) FindByProperties(ctx context.Context, q restkit.PropertyQuery) ([]*restkit.Artefact, bool, error) {
	keys := slices.Sorted(maps.Keys(q.Match))
	if len(keys) == 0 {
		return nil, false, restkit.Errorf(restkit.Invalid, "a property search needs at least one prop.KEY=VALUE")
	}
	var b strings.Builder
	b.WriteString(`SELECT ` + sqlstore.ArtefactColumns + ` FROM _restkit_artefact_properties p
		JOIN _restkit_artefact_versions v ON v.directory = p.directory AND v.id = p.id AND v.version = p.version
		JOIN _restkit_artefacts a ON a.directory = v.directory AND a.id = v.id WHERE p.key = ? AND p.value = ?`)
	args := []any{keys[0], q.Match[keys[0]]}
	for _, k := range keys[1:] {
		b.WriteString(` AND EXISTS (SELECT 1 FROM _restkit_artefact_properties o WHERE o.directory = p.directory AND o.id = p.id AND o.version = p.version AND o.key = ? AND o.value = ?)`)
		args = append(args, k, q.Match[k])
	}
	if c := q.After; c != nil {
		b.WriteString(` AND (p.directory, p.id, p.version) > (?, ?, ?)`)
		args = append(args, c.Directory, c.ID, c.Version)
	}
	b.WriteString(` ORDER BY p.directory, p.id, p.version`)
	if q.Limit > 0 {
		b.WriteString(` LIMIT ?`)
		args = append(args, q.Limit+1)
	}
	out, err := s.queryArtefacts(ctx, "sqlite.FindByProperties", b.String(), args...)
	if err != nil {
		return nil, false, err
	}
	if q.Limit > 0 && len(out) > q.Limit {
		return out[:q.Limit], true, nil
	}
	return out, false, nil
}

// RecordDownload notes the time of a version's download, if the version exists.
func (s *Store) RecordDownload(ctx context.Context, dir, id string, version int64, t time.Time) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO _restkit_artefact_downloads (directory, id, version, downloaded)
		SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM _restkit_artefact_versions WHERE directory = ? AND id = ? AND version = ?)
		ON CONFLICT (directory, id, version) DO UPDATE SET downloaded = excluded.downloaded`,
		dir, id, version, sqlstore.FormatTime(t), dir, id, version)
	return wrap("sqlite.RecordDownload", err)
}

// WalkVersions returns a page of every version, by directory and id, newest first.
func (s *Store) WalkVersions(ctx context.Context, after *restkit.VersionKey, limit int) ([]*restkit.VersionUse, error) {
	const op = "sqlite.WalkVersions"
	q := `SELECT ` + sqlstore.ArtefactColumns + `, coalesce(d.downloaded, '')` + versionJoin +
		` LEFT JOIN _restkit_artefact_downloads d ON d.directory = v.directory AND d.id = v.id AND d.version = v.version`
	var args []any
	if after != nil {
		q += ` WHERE (v.directory, v.id) > (?, ?) OR (v.directory = ? AND v.id = ? AND v.version < ?)`
		args = append(args, after.Directory, after.ID, after.Directory, after.ID, after.Version)
	}
	q += ` ORDER BY v.directory, v.id, v.version DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	out, err := sqlstore.Collect(rows, nil, sqlstore.ScanVersionUse)
	return out, wrap(op, err)
}
