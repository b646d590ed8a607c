package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"

	"github.com/jackc/pgx/v5"
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
// Times are text in restkit.TimeLayout, as for records: timestamptz keeps only
// microseconds. Names are COLLATE "C", so listings by name are in byte order.
//
// Every write takes advisory locks first, keyed by path: a shared lock on each
// directory above the artefact and an exclusive one on the artefact's own path
// (AddVersion, and deleting a version or an artefact), or an exclusive lock on the
// directory (deleting it with its subtree). So writers of one artefact, on any node,
// run one after the other and each reads what the previous committed; a directory is
// never deleted halfway through a version being added below it; and an artefact at
// a/b and one at a/b/c (which would make a/b a directory too) cannot be added at
// once: the second waits, then finds the first and is refused.
//
// A version's properties and last download are rows of their own, removed with the
// version through their foreign keys.
const artefactSQL = `
CREATE TABLE IF NOT EXISTS _restkit_artefacts (
	directory    text COLLATE "C" NOT NULL,
	id           text COLLATE "C" NOT NULL,
	next_version bigint NOT NULL,
	created      text NOT NULL,
	latest       bigint NOT NULL,
	size         bigint NOT NULL,
	updated      text COLLATE "C" NOT NULL,
	PRIMARY KEY (directory, id)
);
CREATE INDEX IF NOT EXISTS _restkit_artefacts_updated ON _restkit_artefacts (directory, updated, id);
CREATE INDEX IF NOT EXISTS _restkit_artefacts_size ON _restkit_artefacts (directory, size, id);
CREATE TABLE IF NOT EXISTS _restkit_artefact_versions (
	directory    text COLLATE "C" NOT NULL,
	id           text COLLATE "C" NOT NULL,
	version      bigint NOT NULL,
	size         bigint NOT NULL,
	sha256       text COLLATE "C" NOT NULL,
	content_type text NOT NULL,
	filename     text NOT NULL,
	stored       text NOT NULL,
	PRIMARY KEY (directory, id, version)
);
CREATE INDEX IF NOT EXISTS _restkit_artefact_versions_sha256 ON _restkit_artefact_versions (sha256);
CREATE TABLE IF NOT EXISTS _restkit_artefact_counters (
	directory    text COLLATE "C" NOT NULL,
	id           text COLLATE "C" NOT NULL,
	next_version bigint NOT NULL,
	PRIMARY KEY (directory, id)
);
CREATE TABLE IF NOT EXISTS _restkit_artefact_properties (
	directory text COLLATE "C" NOT NULL,
	id        text COLLATE "C" NOT NULL,
	version   bigint NOT NULL,
	key       text COLLATE "C" NOT NULL,
	value     text COLLATE "C" NOT NULL,
	PRIMARY KEY (directory, id, version, key),
	FOREIGN KEY (directory, id, version) REFERENCES _restkit_artefact_versions ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS _restkit_artefact_properties_value ON _restkit_artefact_properties (key, value, directory, id, version);
CREATE TABLE IF NOT EXISTS _restkit_artefact_downloads (
	directory  text COLLATE "C" NOT NULL,
	id         text COLLATE "C" NOT NULL,
	version    bigint NOT NULL,
	downloaded text NOT NULL,
	PRIMARY KEY (directory, id, version),
	FOREIGN KEY (directory, id, version) REFERENCES _restkit_artefact_versions ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS _restkit_artefact_uploads (
	id           text COLLATE "C" PRIMARY KEY,
	owner        text NOT NULL,
	directory    text COLLATE "C" NOT NULL,
	artefact_id  text COLLATE "C" NOT NULL,
	length       bigint NOT NULL,
	received     bigint NOT NULL,
	parts        text NOT NULL,
	hash         bytea NOT NULL,
	sha256       text NOT NULL,
	content_type text NOT NULL,
	filename     text NOT NULL,
	metadata     text NOT NULL,
	version      bigint NOT NULL,
	created      text NOT NULL,
	expires      text COLLATE "C" NOT NULL
);
CREATE INDEX IF NOT EXISTS _restkit_artefact_uploads_expires ON _restkit_artefact_uploads (expires);`

const versionJoin = ` FROM _restkit_artefact_versions v JOIN _restkit_artefacts a ON a.directory = v.directory AND a.id = v.id`

// storable reports whether PostgreSQL can hold every name: one it cannot was never
// stored, so a lookup of it finds nothing.
func storable(names ...string) bool {
	for _, n := range names {
		if textProblem(n) != "" {
			return false
		}
	}
	return true
}

// lockArtefact takes the locks of a write to one artefact (id != "") or to a whole
// directory (id == ""); see artefactSQL. Shared locks are taken from the top down,
// in one order on every node.
func (s *Store) lockArtefact(ctx context.Context, tx querier, dir, id string) error {
	if id == "" {
		_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, s.lockKey("path", dir))
		return err
	}
	b := &pgx.Batch{}
	for _, d := range sqlstore.Ancestors(dir) {
		b.Queue(`SELECT pg_advisory_xact_lock_shared($1)`, s.lockKey("path", d))
	}
	b.Queue(`SELECT pg_advisory_xact_lock($1)`, s.lockKey("path", dir+"/"+id))
	return tx.SendBatch(ctx, b).Close()
}

// AddVersion stores a as the next version of its artefact, after check, and prunes
// beyond keep, in one transaction holding the artefact's lock.
func (s *Store) AddVersion(ctx context.Context, a *restkit.Artefact, check restkit.ArtefactCheck, keep int) (*restkit.Artefact, []string, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	const op = "postgres.AddVersion"
	if !storable(a.Directory, a.ID, a.SHA256, a.ContentType, a.Filename) {
		return nil, nil, restkit.Errorf(restkit.Invalid, "artefact names and types must be valid UTF-8 without NUL characters")
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return nil, nil, wrap(op, err)
	}
	defer tx.Rollback(ctx)
	out, pruned, err := s.addVersionTx(ctx, tx, a, check, keep)
	if err != nil {
		return nil, nil, err
	}
	if err := s.commit(ctx, tx); err != nil {
		return nil, nil, wrap(op, err)
	}
	// The version is stored: a failure to tell what it freed must not say otherwise
	// (the blobs are then collected at the next start).
	freed, _ := unreferenced(context.WithoutCancel(ctx), s.pool, pruned)
	return out, freed, nil
}

// addVersionTx is AddVersion inside tx, after which the caller commits and then asks
// which of the pruned digests are unreferenced: the one place a version is written
// (uploads, deploys by checksum and completed resumable uploads all come here).
func (s *Store) addVersionTx(ctx context.Context, tx *writeTx, a *restkit.Artefact, check restkit.ArtefactCheck, keep int) (*restkit.Artefact, []string, error) {
	const op = "postgres.AddVersion"
	if err := s.lockArtefact(ctx, tx, a.Directory, a.ID); err != nil {
		return nil, nil, wrap(op, err)
	}
	latest, err := sqlstore.ScanArtefact(tx.QueryRow(ctx, `SELECT `+sqlstore.ArtefactColumns+versionJoin+
		` WHERE a.directory = $1 AND a.id = $2 AND v.version = a.latest`, a.Directory, a.ID))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
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
	// The counter gives the number: one statement both reads and advances it.
	if err := tx.QueryRow(ctx, `INSERT INTO _restkit_artefact_counters AS c (directory, id, next_version) VALUES ($1, $2, 2)
		ON CONFLICT (directory, id) DO UPDATE SET next_version = c.next_version + 1
		RETURNING next_version - 1`, a.Directory, a.ID).Scan(&out.Version); err != nil {
		return nil, nil, wrap(op, err)
	}
	out.Created = out.Updated
	if latest != nil {
		out.Created = latest.Created
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO _restkit_artefact_versions (directory, id, version, size, sha256, content_type, filename, stored)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, out.Directory, out.ID, out.Version, out.Size, out.SHA256, out.ContentType, out.Filename, sqlstore.FormatTime(out.Updated))
	b.Queue(`INSERT INTO _restkit_artefacts (directory, id, next_version, created, latest, size, updated)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (directory, id) DO UPDATE SET next_version = excluded.next_version, latest = excluded.latest, size = excluded.size, updated = excluded.updated`,
		out.Directory, out.ID, out.Version+1, sqlstore.FormatTime(out.Created), out.Version, out.Size, sqlstore.FormatTime(out.Updated))
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, nil, wrap(op, err)
	}
	var pruned []string
	if keep > 0 {
		rows, err := tx.Query(ctx, `DELETE FROM _restkit_artefact_versions WHERE directory = $1 AND id = $2 AND version IN (
			SELECT version FROM _restkit_artefact_versions WHERE directory = $1 AND id = $2 ORDER BY version DESC OFFSET $3)
			RETURNING sha256`, out.Directory, out.ID, int64(keep))
		if err == nil {
			pruned, err = pgx.CollectRows(rows, pgx.RowTo[string])
		}
		if err != nil {
			return nil, nil, wrap(op, err)
		}
	}
	ev := restkit.Created
	if latest != nil {
		ev = restkit.Updated
	}
	if err := tx.noteArtefact(ev, &out); err != nil {
		return nil, nil, wrap(op, err)
	}
	return &out, pruned, nil
}

// checkPathFree refuses a new artefact whose path is a directory, or that lies below
// an artefact (a path names one or the other, never both).
func checkPathFree(ctx context.Context, tx querier, dir, id string) error {
	p := dir + "/" + id
	lo, hi := sqlstore.Below(p)
	var taken bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM _restkit_artefacts WHERE directory = $1 OR (directory >= $2 AND directory < $3))`, p, lo, hi).Scan(&taken); err != nil {
		return wrap("postgres.AddVersion", err)
	}
	if taken {
		return sqlstore.PathIsDirectory(p)
	}
	for _, anc := range sqlstore.AncestorArtefacts(dir) {
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM _restkit_artefacts WHERE directory = $1 AND id = $2)`, anc[0], anc[1]).Scan(&taken); err != nil {
			return wrap("postgres.AddVersion", err)
		}
		if taken {
			return sqlstore.AncestorIsArtefact(anc[0] + "/" + anc[1])
		}
	}
	return nil
}

// unreferenced returns the digests among ds that no version references, in the
// order of their first appearance.
//
// It runs after the transaction that removed the references has committed, on a
// fresh snapshot: two transactions deleting the last two references to one digest
// at once would each still see the other's (READ COMMITTED) and free nothing, and the
// blob would leak. Checked after each commit, the later of the two sees none left.
// (The repository checks again under the digest's lock before deleting anything.)
func unreferenced(ctx context.Context, tx querier, ds []string) ([]string, error) {
	var uniq []string
	seen := map[string]bool{}
	for _, d := range ds {
		if !seen[d] {
			seen[d] = true
			uniq = append(uniq, d)
		}
	}
	if len(uniq) == 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, `SELECT d FROM unnest($1::text[]) WITH ORDINALITY AS u(d, i)
		WHERE NOT EXISTS (SELECT 1 FROM _restkit_artefact_versions WHERE sha256 = u.d) ORDER BY i`, uniq)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if len(out) == 0 {
		out = nil
	}
	return out, err
}

// FindArtefact returns one version, or the latest for version 0.
func (s *Store) FindArtefact(ctx context.Context, dir, id string, version int64) (*restkit.Artefact, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !storable(dir, id) {
		return nil, sqlstore.ArtefactNotFound(dir, id, version)
	}
	var row pgx.Row
	if version > 0 {
		row = s.pool.QueryRow(ctx, `SELECT `+sqlstore.ArtefactColumns+versionJoin+` WHERE v.directory = $1 AND v.id = $2 AND v.version = $3`, dir, id, version)
	} else {
		row = s.pool.QueryRow(ctx, `SELECT `+sqlstore.ArtefactColumns+versionJoin+` WHERE a.directory = $1 AND a.id = $2 AND v.version = a.latest`, dir, id)
	}
	a, err := sqlstore.ScanArtefact(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, sqlstore.ArtefactNotFound(dir, id, version)
	}
	if err != nil {
		return nil, wrap("postgres.FindArtefact", err)
	}
	return a, nil
}

func (s *Store) queryArtefacts(ctx context.Context, op, query string, args ...any) ([]*restkit.Artefact, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	out, err := sqlstore.Collect(rows, []*restkit.Artefact{}, sqlstore.ScanArtefact)
	return out, wrap(op, err)
}

// ListVersions returns every version of an artefact, newest first.
func (s *Store) ListVersions(ctx context.Context, dir, id string) ([]*restkit.Artefact, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !storable(dir, id) {
		return nil, sqlstore.ArtefactNotFound(dir, id, 0)
	}
	out, err := s.queryArtefacts(ctx, "postgres.ListVersions", `SELECT `+sqlstore.ArtefactColumns+versionJoin+
		` WHERE v.directory = $1 AND v.id = $2 ORDER BY v.version DESC`, dir, id)
	if err == nil && len(out) == 0 {
		return nil, sqlstore.ArtefactNotFound(dir, id, 0)
	}
	return out, err
}

// FindByDigest returns every version with the content, by directory, id and version.
func (s *Store) FindByDigest(ctx context.Context, sha256 string) ([]*restkit.Artefact, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !storable(sha256) {
		return []*restkit.Artefact{}, nil
	}
	return s.queryArtefacts(ctx, "postgres.FindByDigest", `SELECT `+sqlstore.ArtefactColumns+versionJoin+
		` WHERE v.sha256 = $1 ORDER BY v.directory, v.id, v.version`, sha256)
}

// ListArtefacts returns a page of a directory's latest versions, by keyset on
// (sort column, id) — one row comparison, (col, id) > (value, id), which the index
// on (directory, col, id) seeks to: an index range scan at any depth.
func (s *Store) ListArtefacts(ctx context.Context, dir string, q restkit.ArtefactQuery) (*restkit.ArtefactPage, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	col, desc, err := sqlstore.ArtefactSort(q.Sort)
	if err != nil {
		return nil, err
	}
	if !storable(dir, q.Prefix) || (q.After != nil && !storable(q.After.ID)) {
		return &restkit.ArtefactPage{Artefacts: []*restkit.Artefact{}}, nil
	}
	var b strings.Builder
	var p params
	b.WriteString(`SELECT ` + sqlstore.ArtefactColumns + versionJoin + ` WHERE a.directory = ` + p.add(dir) + ` AND v.version = a.latest`)
	if q.Prefix != "" {
		b.WriteString(` AND a.id >= ` + p.add(q.Prefix))
		if upper, ok := prefixUpper(q.Prefix); ok {
			b.WriteString(` AND a.id < ` + p.add(upper))
		}
	}
	cmp, dir2 := ">", "ASC"
	if desc {
		cmp, dir2 = "<", "DESC"
	}
	if c := q.After; c != nil {
		if col == "a.id" {
			b.WriteString(` AND a.id ` + cmp + ` ` + p.add(c.ID))
		} else {
			var v any
			switch x := c.Value.(type) {
			case time.Time:
				v = sqlstore.FormatTime(x)
			case int:
				v = int64(x)
			default:
				v = x
			}
			b.WriteString(` AND (` + col + `, a.id) ` + cmp + ` (` + p.add(v) + `, ` + p.add(c.ID) + `)`)
		}
	}
	b.WriteString(` ORDER BY ` + col + ` ` + dir2)
	if col != "a.id" {
		b.WriteString(`, a.id ` + dir2)
	}
	if q.Limit > 0 {
		b.WriteString(` LIMIT ` + p.add(int64(q.Limit)+1))
	}
	out, err := s.queryArtefacts(ctx, "postgres.ListArtefacts", b.String(), p.args...)
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
	ctx, cancel := s.bound(ctx)
	defer cancel()
	const op = "postgres.ListDirectories"
	// Grouped by directory, then folded into the top-level directories.
	rows, err := s.pool.Query(ctx, `SELECT directory, count(*), sum(size)::bigint, max(updated) FROM _restkit_artefacts GROUP BY directory ORDER BY directory`)
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

// DeleteArtefacts deletes a version, an artefact or a directory with its subtree,
// holding its lock: the one place versions are deleted on request (pruning is in
// addVersionTx).
func (s *Store) DeleteArtefacts(ctx context.Context, dir, id string, version int64) ([]string, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	const op = "postgres.DeleteArtefacts"
	notFound := func() error {
		if id == "" {
			return restkit.Errorf(restkit.NotFound, "no directory %s", dir)
		}
		return sqlstore.ArtefactNotFound(dir, id, version)
	}
	if !storable(dir, id) {
		return nil, notFound()
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer tx.Rollback(ctx)
	if err := s.lockArtefact(ctx, tx, dir, id); err != nil {
		return nil, wrap(op, err)
	}
	var p params
	lo, hi := sqlstore.Below(dir)
	where := `(directory = ` + p.add(dir) + ` OR (directory >= ` + p.add(lo) + ` AND directory < ` + p.add(hi) + `))`
	if id != "" {
		p = params{}
		where = `directory = ` + p.add(dir) + ` AND id = ` + p.add(id)
	}
	if version > 0 {
		where += ` AND version = ` + p.add(version)
	}
	before, err := latestVersions(ctx, tx, dir, id)
	if err != nil {
		return nil, wrap(op, err)
	}
	rows, err := tx.Query(ctx, `DELETE FROM _restkit_artefact_versions WHERE `+where+` RETURNING sha256`, p.args...)
	if err != nil {
		return nil, wrap(op, err)
	}
	digests, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, wrap(op, err)
	}
	if len(digests) == 0 {
		return nil, notFound()
	}
	if err := deletionEvents(ctx, tx, before, id, version); err != nil {
		return nil, wrap(op, err)
	}
	if version > 0 {
		// The artefact keeps its row while versions remain; its latest-version copy
		// moves to the newest one left. Without versions left, it goes.
		tag, err := tx.Exec(ctx, `UPDATE _restkit_artefacts AS a SET latest = v.version, size = v.size, updated = v.stored
			FROM (SELECT version, size, stored FROM _restkit_artefact_versions WHERE directory = $1 AND id = $2 ORDER BY version DESC LIMIT 1) AS v
			WHERE a.directory = $1 AND a.id = $2`, dir, id)
		if err == nil && tag.RowsAffected() == 0 {
			_, err = tx.Exec(ctx, `DELETE FROM _restkit_artefacts WHERE directory = $1 AND id = $2`, dir, id)
		}
		if err != nil {
			return nil, wrap(op, err)
		}
	} else if _, err := tx.Exec(ctx, `DELETE FROM _restkit_artefacts WHERE `+where, p.args...); err != nil {
		return nil, wrap(op, err)
	}
	if err := s.commit(ctx, tx); err != nil {
		return nil, wrap(op, err)
	}
	// Deleted: a failure to tell what it freed must not say otherwise (the blobs are
	// then collected at the next start).
	freed, _ := unreferenced(context.WithoutCancel(ctx), s.pool, digests)
	return freed, nil
}

// Unreferenced returns those of the digests no version references, in one round
// trip (the repository's start-up collection asks it of every blob in the bucket).
func (s *Store) Unreferenced(ctx context.Context, digests []string) ([]string, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	out, err := unreferenced(ctx, s.pool, digests)
	return out, wrap("postgres.Unreferenced", err)
}

// Referenced reports whether any version has the digest.
func (s *Store) Referenced(ctx context.Context, sha256 string) (bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !storable(sha256) {
		return false, nil
	}
	var ok bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM _restkit_artefact_versions WHERE sha256 = $1)`, sha256).Scan(&ok); err != nil {
		return false, wrap("postgres.Referenced", err)
	}
	return ok, nil
}
