package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"
)

// Artefact metadata.
//
// _restkit_artefact_versions holds one row per immutable version. _restkit_artefacts
// holds one row per artefact: when its first version was stored, and a copy of its
// latest version's number, size and time, so that a directory listing sorted by name,
// size or time is an index range scan over one table instead of a "latest version per
// artefact" aggregate. _restkit_artefact_counters holds each name's next version
// number and is never deleted: a number, once given, is never given again, even after
// the artefact is deleted and made anew — so /dir/id?version=N may be cached forever.
//
// Directories are paths ("org/app/1.2.0"); a directory exists while an artefact is
// stored in it or below it, so the directories below a path are the distinct next
// segments of the directory column in the range of paths that start with it plus a
// slash (sqlstore.Below). A version's properties and its last download are rows of
// their own, removed with the version by their foreign keys (every delete path:
// deletes, pruning, cleanup). _restkit_artefact_uploads holds resumable uploads.
const artefactSQL = `
CREATE TABLE IF NOT EXISTS _restkit_artefacts (
	directory    TEXT NOT NULL,
	id           TEXT NOT NULL,
	next_version INTEGER NOT NULL,
	created      TEXT NOT NULL,
	latest       INTEGER NOT NULL,
	size         INTEGER NOT NULL,
	updated      TEXT NOT NULL,
	PRIMARY KEY (directory, id)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS _restkit_artefacts_updated ON _restkit_artefacts (directory, updated, id);
CREATE INDEX IF NOT EXISTS _restkit_artefacts_size ON _restkit_artefacts (directory, size, id);
CREATE TABLE IF NOT EXISTS _restkit_artefact_versions (
	directory    TEXT NOT NULL,
	id           TEXT NOT NULL,
	version      INTEGER NOT NULL,
	size         INTEGER NOT NULL,
	sha256       TEXT NOT NULL,
	content_type TEXT NOT NULL,
	filename     TEXT NOT NULL,
	stored       TEXT NOT NULL,
	PRIMARY KEY (directory, id, version)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS _restkit_artefact_versions_sha256 ON _restkit_artefact_versions (sha256);
CREATE TABLE IF NOT EXISTS _restkit_artefact_counters (
	directory    TEXT NOT NULL,
	id           TEXT NOT NULL,
	next_version INTEGER NOT NULL,
	PRIMARY KEY (directory, id)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS _restkit_artefact_properties (
	directory TEXT NOT NULL,
	id        TEXT NOT NULL,
	version   INTEGER NOT NULL,
	key       TEXT NOT NULL,
	value     TEXT NOT NULL,
	PRIMARY KEY (directory, id, version, key),
	FOREIGN KEY (directory, id, version) REFERENCES _restkit_artefact_versions ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS _restkit_artefact_properties_value ON _restkit_artefact_properties (key, value, directory, id, version);
CREATE TABLE IF NOT EXISTS _restkit_artefact_downloads (
	directory  TEXT NOT NULL,
	id         TEXT NOT NULL,
	version    INTEGER NOT NULL,
	downloaded TEXT NOT NULL,
	PRIMARY KEY (directory, id, version),
	FOREIGN KEY (directory, id, version) REFERENCES _restkit_artefact_versions ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS _restkit_artefact_uploads (
	id           TEXT PRIMARY KEY NOT NULL,
	owner        TEXT NOT NULL,
	directory    TEXT NOT NULL,
	artefact_id  TEXT NOT NULL,
	length       INTEGER NOT NULL,
	received     INTEGER NOT NULL,
	parts        TEXT NOT NULL,
	hash         BLOB NOT NULL,
	sha256       TEXT NOT NULL,
	content_type TEXT NOT NULL,
	filename     TEXT NOT NULL,
	metadata     TEXT NOT NULL,
	version      INTEGER NOT NULL,
	created      TEXT NOT NULL,
	expires      TEXT NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS _restkit_artefact_uploads_expires ON _restkit_artefact_uploads (expires);`

var _ restkit.ArtefactStore = (*Store)(nil)

const versionJoin = ` FROM _restkit_artefact_versions v JOIN _restkit_artefacts a ON a.directory = v.directory AND a.id = v.id`

// AddVersion stores a as the next version of its artefact, after check, and prunes
// beyond keep, in one write transaction.
func (s *Store) AddVersion(ctx context.Context, a *restkit.Artefact, check restkit.ArtefactCheck, keep int) (*restkit.Artefact, []string, error) {
	const op = "sqlite.AddVersion"
	tx, release, err := s.durableTx(ctx)
	if err != nil {
		return nil, nil, wrap(op, err)
	}
	defer release()
	defer tx.Rollback()
	out, freed, err := s.addVersionTx(ctx, tx, a, check, keep)
	if err != nil {
		return nil, nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, wrap(op, err)
	}
	s.notify.Notify()
	return out, freed, nil
}

// addVersionTx is AddVersion inside tx: the one place a version is written (uploads,
// deploys by checksum and completed resumable uploads all come here).
func (s *Store) addVersionTx(ctx context.Context, tx *sql.Tx, a *restkit.Artefact, check restkit.ArtefactCheck, keep int) (*restkit.Artefact, []string, error) {
	const op = "sqlite.AddVersion"
	latest, err := sqlstore.ScanArtefact(tx.QueryRowContext(ctx, `SELECT `+sqlstore.ArtefactColumns+versionJoin+
		` WHERE a.directory = ? AND a.id = ? AND v.version = a.latest`, a.Directory, a.ID))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		latest = nil
	case err != nil:
		return nil, nil, wrap(op, err)
	}
	if check != nil {
		if err := check(latest); err != nil {
			return nil, nil, err
		}
	}
	if latest == nil {
		if err := checkPathFree(ctx, tx, a.Directory, a.ID); err != nil {
			return nil, nil, err
		}
	}
	out := *a
	out.Properties = nil
	out.Updated = a.Updated.UTC()
	if out.Updated.IsZero() {
		out.Updated = time.Now().UTC()
	}
	err = tx.QueryRowContext(ctx, `SELECT next_version FROM _restkit_artefact_counters WHERE directory = ? AND id = ?`, a.Directory, a.ID).Scan(&out.Version)
	if errors.Is(err, sql.ErrNoRows) {
		out.Version, err = 1, nil
	}
	if err != nil {
		return nil, nil, wrap(op, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO _restkit_artefact_counters (directory, id, next_version) VALUES (?, ?, ?)
		ON CONFLICT (directory, id) DO UPDATE SET next_version = excluded.next_version`, a.Directory, a.ID, out.Version+1); err != nil {
		return nil, nil, wrap(op, err)
	}
	out.Created = out.Updated
	if latest != nil {
		out.Created = latest.Created
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO _restkit_artefact_versions (directory, id, version, size, sha256, content_type, filename, stored)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, out.Directory, out.ID, out.Version, out.Size, out.SHA256, out.ContentType, out.Filename, sqlstore.FormatTime(out.Updated)); err != nil {
		return nil, nil, wrap(op, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO _restkit_artefacts (directory, id, next_version, created, latest, size, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (directory, id) DO UPDATE SET next_version = excluded.next_version, latest = excluded.latest, size = excluded.size, updated = excluded.updated`,
		out.Directory, out.ID, out.Version+1, sqlstore.FormatTime(out.Created), out.Version, out.Size, sqlstore.FormatTime(out.Updated)); err != nil {
		return nil, nil, wrap(op, err)
	}
	freed, err := prune(ctx, tx, out.Directory, out.ID, keep)
	if err != nil {
		return nil, nil, wrap(op, err)
	}
	ev := restkit.Created
	if latest != nil {
		ev = restkit.Updated
	}
	if err := s.appendArtefactEvent(ctx, tx, ev, &out); err != nil {
		return nil, nil, wrap(op, err)
	}
	return &out, freed, nil
}

// checkPathFree refuses a new artefact whose path is a directory, or that lies below
// an artefact (a path names one or the other, never both).
func checkPathFree(ctx context.Context, tx *sql.Tx, dir, id string) error {
	var one int
	p := dir + "/" + id
	lo, hi := sqlstore.Below(p)
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM _restkit_artefacts WHERE directory = ? OR (directory >= ? AND directory < ?) LIMIT 1`, p, lo, hi).Scan(&one)
	if err == nil {
		return sqlstore.PathIsDirectory(p)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return wrap("sqlite.AddVersion", err)
	}
	for _, anc := range sqlstore.AncestorArtefacts(dir) {
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM _restkit_artefacts WHERE directory = ? AND id = ?`, anc[0], anc[1]).Scan(&one)
		if err == nil {
			return sqlstore.AncestorIsArtefact(anc[0] + "/" + anc[1])
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return wrap("sqlite.AddVersion", err)
		}
	}
	return nil
}

// prune deletes the versions of an artefact beyond the keep newest (keep > 0) and
// returns the digests no version references any more.
func prune(ctx context.Context, tx *sql.Tx, dir, id string, keep int) ([]string, error) {
	if keep <= 0 {
		return nil, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT version, sha256 FROM _restkit_artefact_versions WHERE directory = ? AND id = ?
		ORDER BY version DESC LIMIT -1 OFFSET ?`, dir, id, keep)
	if err != nil {
		return nil, err
	}
	var old []int64
	var digests []string
	for rows.Next() {
		var v int64
		var d string
		if err := rows.Scan(&v, &d); err != nil {
			rows.Close()
			return nil, err
		}
		old, digests = append(old, v), append(digests, d)
	}
	rows.Close()
	for _, v := range old {
		if _, err := tx.ExecContext(ctx, `DELETE FROM _restkit_artefact_versions WHERE directory = ? AND id = ? AND version = ?`, dir, id, v); err != nil {
			return nil, err
		}
	}
	return unreferenced(ctx, tx, digests)
}

// unreferenced returns the digests among ds that no version references.
func unreferenced(ctx context.Context, tx *sql.Tx, ds []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, d := range ds {
		if seen[d] {
			continue
		}
		seen[d] = true
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM _restkit_artefact_versions WHERE sha256 = ? LIMIT 1`, d).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			out = append(out, d)
			continue
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// FindArtefact returns one version, or the latest for version 0.
func (s *Store) FindArtefact(ctx context.Context, dir, id string, version int64) (*restkit.Artefact, error) {
	var row *sql.Row
	if version > 0 {
		row = s.r.QueryRowContext(ctx, `SELECT `+sqlstore.ArtefactColumns+versionJoin+` WHERE v.directory = ? AND v.id = ? AND v.version = ?`, dir, id, version)
	} else {
		row = s.r.QueryRowContext(ctx, `SELECT `+sqlstore.ArtefactColumns+versionJoin+` WHERE a.directory = ? AND a.id = ? AND v.version = a.latest`, dir, id)
	}
	a, err := sqlstore.ScanArtefact(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, sqlstore.ArtefactNotFound(dir, id, version)
	}
	if err != nil {
		return nil, wrap("sqlite.FindArtefact", err)
	}
	return a, nil
}

func (s *Store) queryArtefacts(ctx context.Context, op, query string, args ...any) ([]*restkit.Artefact, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	out, err := sqlstore.Collect(rows, []*restkit.Artefact{}, sqlstore.ScanArtefact)
	return out, wrap(op, err)
}

// ListVersions returns every version of an artefact, newest first.
func (s *Store) ListVersions(ctx context.Context, dir, id string) ([]*restkit.Artefact, error) {
	out, err := s.queryArtefacts(ctx, "sqlite.ListVersions", `SELECT `+sqlstore.ArtefactColumns+versionJoin+
		` WHERE v.directory = ? AND v.id = ? ORDER BY v.version DESC`, dir, id)
	if err == nil && len(out) == 0 {
		return nil, sqlstore.ArtefactNotFound(dir, id, 0)
	}
	return out, err
}

// FindByDigest returns every version with the content, by directory, id and version.
func (s *Store) FindByDigest(ctx context.Context, sha256 string) ([]*restkit.Artefact, error) {
	return s.queryArtefacts(ctx, "sqlite.FindByDigest", `SELECT `+sqlstore.ArtefactColumns+versionJoin+
		` WHERE v.sha256 = ? ORDER BY v.directory, v.id, v.version`, sha256)
}

// ListArtefacts returns a page of a directory's latest versions, by keyset on
// (sort column, id): an index range scan at any depth.
func (s *Store) ListArtefacts(ctx context.Context, dir string, q restkit.ArtefactQuery) (*restkit.ArtefactPage, error) {
	col, desc, err := sqlstore.ArtefactSort(q.Sort)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	args := []any{dir}
	b.WriteString(`SELECT ` + sqlstore.ArtefactColumns + versionJoin + ` WHERE a.directory = ? AND v.version = a.latest`)
	if q.Prefix != "" {
		b.WriteString(` AND a.id >= ?`)
		args = append(args, q.Prefix)
		if upper, ok := prefixUpper(q.Prefix); ok {
			b.WriteString(` AND a.id < ?`)
			args = append(args, upper)
		}
	}
	cmp, dir2 := ">", "ASC"
	if desc {
		cmp, dir2 = "<", "DESC"
	}
	if c := q.After; c != nil {
		var v any
		switch x := c.Value.(type) {
		case time.Time:
			v = sqlstore.FormatTime(x)
		default:
			v = x
		}
		if col == "a.id" {
			b.WriteString(` AND a.id ` + cmp + ` ?`)
			args = append(args, c.ID)
		} else {
			b.WriteString(` AND (` + col + ` ` + cmp + ` ? OR (` + col + ` = ? AND a.id ` + cmp + ` ?))`)
			args = append(args, v, v, c.ID)
		}
	}
	b.WriteString(` ORDER BY ` + col + ` ` + dir2)
	if col != "a.id" {
		b.WriteString(`, a.id ` + dir2)
	}
	if q.Limit > 0 {
		b.WriteString(` LIMIT ?`)
		args = append(args, q.Limit+1)
	}
	out, err := s.queryArtefacts(ctx, "sqlite.ListArtefacts", b.String(), args...)
	if err != nil {
		return nil, err
	}
	page := &restkit.ArtefactPage{Artefacts: out}
	if q.Limit > 0 && len(out) > q.Limit {
		page.More, page.Artefacts = true, out[:q.Limit]
	}
	return page, nil
}

// ListDirectories summarises the top-level directories, each with its subtree.
func (s *Store) ListDirectories(ctx context.Context) ([]*restkit.DirectoryInfo, error) {
	const op = "sqlite.ListDirectories"
	// Grouped by directory, the table's own order (no sort, no string function per
	// row), then folded into the top-level directories.
	rows, err := s.r.QueryContext(ctx, `SELECT directory, count(*), sum(size), max(updated) FROM _restkit_artefacts GROUP BY directory ORDER BY directory`)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	out, err := sqlstore.Collect(rows, []*restkit.DirectoryInfo{}, sqlstore.ScanDirectoryInfo)
	if err != nil {
		return nil, wrap(op, err)
	}
	return sqlstore.TopLevel(out), nil
}

// ListSubdirectories returns a page of the names of the directories right below dir:
// the distinct next segments of the directories in dir's subtree. (length and substr
// count characters in SQLite, the same for the parameter and the column.)
func (s *Store) ListSubdirectories(ctx context.Context, dir string, q restkit.SubdirectoryQuery) (*restkit.SubdirectoryPage, error) {
	var b strings.Builder
	var args []any
	b.WriteString(`SELECT DISTINCT CASE instr(rest, '/') WHEN 0 THEN rest ELSE substr(rest, 1, instr(rest, '/') - 1) END AS seg FROM (`)
	if dir == "" {
		b.WriteString(`SELECT directory AS rest FROM _restkit_artefacts)`)
	} else {
		lo, hi := sqlstore.Below(dir)
		b.WriteString(`SELECT substr(directory, length(?) + 1) AS rest FROM _restkit_artefacts WHERE directory >= ? AND directory < ?)`)
		args = append(args, lo, lo, hi)
	}
	b.WriteString(` WHERE 1 = 1`)
	if q.Prefix != "" {
		b.WriteString(` AND seg >= ?`)
		args = append(args, q.Prefix)
		if upper, ok := prefixUpper(q.Prefix); ok {
			b.WriteString(` AND seg < ?`)
			args = append(args, upper)
		}
	}
	order := "ASC"
	if q.After != "" {
		cmp := ">"
		if q.Desc {
			cmp = "<"
		}
		b.WriteString(` AND seg ` + cmp + ` ?`)
		args = append(args, q.After)
	}
	if q.Desc {
		order = "DESC"
	}
	b.WriteString(` ORDER BY seg ` + order)
	if q.Limit > 0 {
		b.WriteString(` LIMIT ?`)
		args = append(args, q.Limit+1)
	}
	rows, err := s.r.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return nil, wrap("sqlite.ListSubdirectories", err)
	}
	defer rows.Close()
	page := &restkit.SubdirectoryPage{Names: []string{}}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, wrap("sqlite.ListSubdirectories", err)
		}
		page.Names = append(page.Names, n)
	}
	if q.Limit > 0 && len(page.Names) > q.Limit {
		page.More, page.Names = true, page.Names[:q.Limit]
	}
	return page, wrap("sqlite.ListSubdirectories", rows.Err())
}

// DeleteArtefacts deletes a version, an artefact or a directory with its subtree.
func (s *Store) DeleteArtefacts(ctx context.Context, dir, id string, version int64) ([]string, error) {
	const op = "sqlite.DeleteArtefacts"
	tx, release, err := s.durableTx(ctx)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer release()
	defer tx.Rollback()
	freed, err := s.deleteArtefactsTx(ctx, tx, dir, id, version)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, wrap(op, err)
	}
	s.notify.Notify()
	return freed, nil
}

// deleteArtefactsTx is DeleteArtefacts inside tx: the one place versions are
// deleted on request (pruning is in prune).
func (s *Store) deleteArtefactsTx(ctx context.Context, tx *sql.Tx, dir, id string, version int64) ([]string, error) {
	const op = "sqlite.DeleteArtefacts"
	lo, hi := sqlstore.Below(dir)
	where, args := `(directory = ? OR (directory >= ? AND directory < ?))`, []any{dir, lo, hi}
	if id != "" {
		where, args = `directory = ? AND id = ?`, []any{dir, id}
	}
	if version > 0 {
		where, args = where+` AND version = ?`, append(args, version)
	}
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT sha256 FROM _restkit_artefact_versions WHERE `+where, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	var digests []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			rows.Close()
			return nil, wrap(op, err)
		}
		digests = append(digests, d)
	}
	rows.Close()
	if len(digests) == 0 {
		switch {
		case id == "":
			return nil, restkit.Errorf(restkit.NotFound, "no directory %s", dir)
		default:
			return nil, sqlstore.ArtefactNotFound(dir, id, version)
		}
	}
	before, err := latestVersions(ctx, tx, dir, id)
	if err != nil {
		return nil, wrap(op, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM _restkit_artefact_versions WHERE `+where, args...); err != nil {
		return nil, wrap(op, err)
	}
	if err := s.deletionEvents(ctx, tx, before, id, version); err != nil {
		return nil, wrap(op, err)
	}
	if version > 0 {
		// The artefact keeps its row (and so its version counter) while versions remain;
		// its latest-version copy moves to the newest one left.
		var latest sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT max(version) FROM _restkit_artefact_versions WHERE directory = ? AND id = ?`, dir, id).Scan(&latest); err != nil {
			return nil, wrap(op, err)
		}
		if latest.Valid {
			_, err = tx.ExecContext(ctx, `UPDATE _restkit_artefacts SET latest = v.version, size = v.size, updated = v.stored
				FROM (SELECT version, size, stored FROM _restkit_artefact_versions WHERE directory = ? AND id = ? AND version = ?) AS v
				WHERE directory = ? AND id = ?`, dir, id, latest.Int64, dir, id)
		} else {
			_, err = tx.ExecContext(ctx, `DELETE FROM _restkit_artefacts WHERE directory = ? AND id = ?`, dir, id)
		}
	} else {
		_, err = tx.ExecContext(ctx, `DELETE FROM _restkit_artefacts WHERE `+where, args...)
	}
	if err != nil {
		return nil, wrap(op, err)
	}
	freed, err := unreferenced(ctx, tx, digests)
	if err != nil {
		return nil, wrap(op, err)
	}
	return freed, nil
}

// Referenced reports whether any version has the digest.
func (s *Store) Referenced(ctx context.Context, sha256 string) (bool, error) {
	var one int
	err := s.w.QueryRowContext(ctx, `SELECT 1 FROM _restkit_artefact_versions WHERE sha256 = ? LIMIT 1`, sha256).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, wrap("sqlite.Referenced", err)
	}
	return true, nil
}

// durableTx begins a write transaction whose commit is fsynced (synchronous=FULL)
// before it returns. Artefact transactions need it: they return digests that nothing
// references any more, and the caller deletes those blobs at once. Under the store's
// usual synchronous=NORMAL, a power loss could keep the blob's deletion (a file
// system operation) and lose the commit that stopped referencing it, leaving a
// version without content. An upload already fsyncs its blob, so one more fsync of
// the log costs little here. release restores NORMAL and must run after the
// transaction ends.
func (s *Store) durableTx(ctx context.Context) (*sql.Tx, func(), error) {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous=FULL"); err != nil {
		conn.Close()
		return nil, nil, err
	}
	release := func() {
		if _, err := conn.ExecContext(context.Background(), "PRAGMA synchronous=NORMAL"); err != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn }) // never reuse a connection left at FULL
		}
		conn.Close()
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		release()
		return nil, nil, err
	}
	return tx, release, nil
}
