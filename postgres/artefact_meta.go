package postgres

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"
)

// Subdirectories, properties, downloads and the walk of every version.

// ListSubdirectories returns a page of the names of the directories right below dir:
// the distinct next segments of the directories in dir's subtree.
func (s *Store) ListSubdirectories(ctx context.Context, dir string, q restkit.SubdirectoryQuery) (*restkit.SubdirectoryPage, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	page := &restkit.SubdirectoryPage{Names: []string{}}
	if !storable(dir, q.Prefix, q.After) {
		return page, nil
	}
	var b strings.Builder
	var p params
	if dir == "" {
		b.WriteString(`SELECT DISTINCT split_part(directory, '/', 1) AS seg FROM _restkit_artefacts WHERE true`)
	} else {
		lo, hi := sqlstore.Below(dir)
		b.WriteString(`SELECT DISTINCT split_part(substr(directory, ` + p.add(int64(len([]rune(lo)))+1) + `), '/', 1) AS seg FROM _restkit_artefacts
			WHERE directory >= ` + p.add(lo) + ` AND directory < ` + p.add(hi))
	}
	outer := `SELECT seg FROM (` + b.String() + `) AS s WHERE true`
	if q.Prefix != "" {
		outer += ` AND seg >= ` + p.add(q.Prefix)
		if upper, ok := prefixUpper(q.Prefix); ok {
			outer += ` AND seg < ` + p.add(upper)
		}
	}
	order := ` ORDER BY seg COLLATE "C"`
	if q.After != "" {
		cmp := " > "
		if q.Desc {
			cmp = " < "
		}
		outer += ` AND seg COLLATE "C"` + cmp + p.add(q.After)
	}
	if q.Desc {
		order += ` DESC`
	}
	outer += order
	if q.Limit > 0 {
		outer += ` LIMIT ` + p.add(int64(q.Limit)+1)
	}
	rows, err := s.pool.Query(ctx, outer, p.args...)
	if err == nil {
		page.Names, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		return nil, wrap("postgres.ListSubdirectories", err)
	}
	if q.Limit > 0 && len(page.Names) > q.Limit {
		page.More, page.Names = true, page.Names[:q.Limit]
	}
	return page, nil
}

// SetProperties replaces the properties of one version (0: the latest), holding the
// artefact's lock.
func (s *Store) SetProperties(ctx context.Context, dir, id string, version int64, props map[string]string) (*restkit.Artefact, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	const op = "postgres.SetProperties"
	if !storable(dir, id) {
		return nil, sqlstore.ArtefactNotFound(dir, id, version)
	}
	for k, v := range props {
		if !storable(k, v) {
			return nil, restkit.Errorf(restkit.Invalid, "properties must be valid UTF-8 without NUL characters")
		}
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer tx.Rollback(ctx)
	if err := s.lockArtefact(ctx, tx, dir, id); err != nil {
		return nil, wrap(op, err)
	}
	q := `SELECT ` + sqlstore.ArtefactColumns + versionJoin + ` WHERE v.directory = $1 AND v.id = $2 AND v.version = `
	args := []any{dir, id}
	if version > 0 {
		q, args = q+`$3`, append(args, version)
	} else {
		q += `a.latest`
	}
	a, err := sqlstore.ScanArtefact(tx.QueryRow(ctx, q, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, sqlstore.ArtefactNotFound(dir, id, version)
	}
	if err != nil {
		return nil, wrap(op, err)
	}
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM _restkit_artefact_properties WHERE directory = $1 AND id = $2 AND version = $3`, dir, id, a.Version)
	for _, k := range slices.Sorted(maps.Keys(props)) {
		b.Queue(`INSERT INTO _restkit_artefact_properties (directory, id, version, key, value) VALUES ($1, $2, $3, $4, $5)`, dir, id, a.Version, k, props[k])
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, wrap(op, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, wrap(op, err)
	}
	a.Properties = map[string]string{}
	for k, v := range props {
		a.Properties[k] = v
	}
	return a, nil
}

// LoadProperties fills the properties of each version, in one query.
func (s *Store) LoadProperties(ctx context.Context, as []*restkit.Artefact) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if len(as) == 0 {
		return nil
	}
	byKey := map[restkit.VersionKey]*restkit.Artefact{}
	dirs, ids, versions := make([]string, len(as)), make([]string, len(as)), make([]int64, len(as))
	for i, a := range as {
		a.Properties = map[string]string{}
		byKey[restkit.VersionKey{Directory: a.Directory, ID: a.ID, Version: a.Version}] = a
		dirs[i], ids[i], versions[i] = a.Directory, a.ID, a.Version
	}
	rows, err := s.pool.Query(ctx, `SELECT p.directory, p.id, p.version, p.key, p.value FROM _restkit_artefact_properties p
		JOIN unnest($1::text[], $2::text[], $3::bigint[]) AS k(d, i, v) ON p.directory = k.d AND p.id = k.i AND p.version = k.v`, dirs, ids, versions)
	if err != nil {
		return wrap("postgres.LoadProperties", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k restkit.VersionKey
		var key, value string
		if err := rows.Scan(&k.Directory, &k.ID, &k.Version, &key, &value); err != nil {
			return wrap("postgres.LoadProperties", err)
		}
		if a := byKey[k]; a != nil {
			a.Properties[key] = value
		}
	}
	return wrap("postgres.LoadProperties", rows.Err())
}

// FindByProperties returns a page of the versions holding every pair of q.Match,
// driven by the index on (key, value) of the first pair.
func (s *Store) FindByProperties(ctx context.Context, q restkit.PropertyQuery) ([]*restkit.Artefact, bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	keys := slices.Sorted(maps.Keys(q.Match))
	if len(keys) == 0 {
		return nil, false, restkit.Errorf(restkit.Invalid, "a property search needs at least one prop.KEY=VALUE")
	}
	for k, v := range q.Match {
		if !storable(k, v) {
			return []*restkit.Artefact{}, false, nil
		}
	}
	if q.After != nil && !storable(q.After.Directory, q.After.ID) {
		return []*restkit.Artefact{}, false, nil
	}
	var b strings.Builder
	var p params
	b.WriteString(`SELECT ` + sqlstore.ArtefactColumns + ` FROM _restkit_artefact_properties p
		JOIN _restkit_artefact_versions v ON v.directory = p.directory AND v.id = p.id AND v.version = p.version
		JOIN _restkit_artefacts a ON a.directory = v.directory AND a.id = v.id WHERE p.key = ` + p.add(keys[0]) + ` AND p.value = ` + p.add(q.Match[keys[0]]))
	for _, k := range keys[1:] {
		b.WriteString(` AND EXISTS (SELECT 1 FROM _restkit_artefact_properties o WHERE o.directory = p.directory AND o.id = p.id AND o.version = p.version AND o.key = ` +
			p.add(k) + ` AND o.value = ` + p.add(q.Match[k]) + `)`)
	}
	if c := q.After; c != nil {
		b.WriteString(` AND (p.directory, p.id, p.version) > (` + p.add(c.Directory) + `, ` + p.add(c.ID) + `, ` + p.add(c.Version) + `)`)
	}
	b.WriteString(` ORDER BY p.directory, p.id, p.version`)
	if q.Limit > 0 {
		b.WriteString(` LIMIT ` + p.add(int64(q.Limit)+1))
	}
	out, err := s.queryArtefacts(ctx, "postgres.FindByProperties", b.String(), p.args...)
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
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !storable(dir, id) {
		return nil
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO _restkit_artefact_downloads (directory, id, version, downloaded)
		SELECT directory, id, version, $4 FROM _restkit_artefact_versions WHERE directory = $1 AND id = $2 AND version = $3
		ON CONFLICT (directory, id, version) DO UPDATE SET downloaded = excluded.downloaded`, dir, id, version, sqlstore.FormatTime(t))
	var pe interface{ SQLState() string }
	if errors.As(err, &pe) && pe.SQLState() == "23503" { // the version was deleted meanwhile
		return nil
	}
	return wrap("postgres.RecordDownload", err)
}

// WalkVersions returns a page of every version, by directory and id, newest first.
func (s *Store) WalkVersions(ctx context.Context, after *restkit.VersionKey, limit int) ([]*restkit.VersionUse, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	const op = "postgres.WalkVersions"
	q := `SELECT ` + sqlstore.ArtefactColumns + `, coalesce(d.downloaded, '')` + versionJoin +
		` LEFT JOIN _restkit_artefact_downloads d ON d.directory = v.directory AND d.id = v.id AND d.version = v.version`
	var p params
	if after != nil {
		q += ` WHERE (v.directory, v.id) > (` + p.add(after.Directory) + `, ` + p.add(after.ID) + `) OR (v.directory = ` +
			p.add(after.Directory) + ` AND v.id = ` + p.add(after.ID) + ` AND v.version < ` + p.add(after.Version) + `)`
	}
	q += ` ORDER BY v.directory, v.id, v.version DESC LIMIT ` + p.add(int64(limit))
	rows, err := s.pool.Query(ctx, q, p.args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	out, err := sqlstore.Collect(rows, nil, sqlstore.ScanVersionUse)
	return out, wrap(op, err)
}
