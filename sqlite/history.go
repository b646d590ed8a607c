package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"math"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"
)

var _ restkit.HistoryStore = (*Store)(nil)

// history is the history table of a resource declared with History, and its
// statements. See restkit.HistoryStore for what it holds.
type history struct {
	name, q string

	insert *sql.Stmt // writer: INSERT OR REPLACE one revision
	prune  *sql.Stmt // writer: drop revisions of a key older than the newest N
	purge  *sql.Stmt // writer: drop every revision of a key
	list   *sql.Stmt // reader: revisions of a key below a rev, newest first
	find   *sql.Stmt // reader: one revision
	exists *sql.Stmt // reader: whether a key has any revision
}

// historySQL creates the history table of res. The key column is typed like the key;
// state is the JSON object of the revision's values, as a noun's state is stored.
func historySQL(res *restkit.Resource) string {
	return "CREATE TABLE IF NOT EXISTS " + quote(res.StoreName+sqlstore.HistorySuffix) + ` (
	key     ` + sqlType(sqlstore.FieldKind(res.KeyField())) + ` NOT NULL,
	rev     INTEGER NOT NULL,
	deleted INTEGER NOT NULL,
	actor   TEXT NOT NULL,
	state   TEXT NOT NULL,
	created TEXT NOT NULL,
	updated TEXT NOT NULL,
	PRIMARY KEY (key, rev)
) STRICT, WITHOUT ROWID`
}

// history creates the history table of a resource declared with History, inside
// Migrate's transaction. It is additive: a table already there is kept, and turning
// History off later leaves it alone. A table whose key column has another type (the
// key changed while history was off) is a destructive step: refused, or dropped and
// made anew.
func (m *migration) history(ctx context.Context) error {
	name := m.name + sqlstore.HistorySuffix
	var typ string
	err := m.tx.QueryRowContext(ctx, `SELECT type FROM pragma_table_info(?) WHERE name = 'key'`, name).Scan(&typ)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return m.exec(ctx, historySQL(m.Res))
	case err != nil:
		return err
	}
	if !m.CheckHistoryKey(name, typ) || len(m.Problems) > 0 {
		return nil
	}
	if err := m.exec(ctx, "DROP TABLE "+quote(name)); err != nil { // allowed: the old history goes
		return err
	}
	return m.exec(ctx, historySQL(m.Res))
}

// prepareHistory prepares the statements of t's history table, or takes them from
// old's (a repeated Migrate: they depend only on the table's name).
func (s *Store) prepareHistory(ctx context.Context, t, old *table) error {
	if old != nil && old.hist != nil {
		t.hist = old.hist
		return nil
	}
	h := &history{name: t.name + sqlstore.HistorySuffix, q: quote(t.name + sqlstore.HistorySuffix)}
	for _, p := range []struct {
		st  **sql.Stmt
		db  *sql.DB
		sql string
	}{
		{&h.insert, s.w, "INSERT OR REPLACE INTO " + h.q + " (key, " + sqlstore.RevisionColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?)"},
		{&h.prune, s.w, "DELETE FROM " + h.q + " WHERE key = ?1 AND rev < (SELECT rev FROM " + h.q + " WHERE key = ?1 ORDER BY rev DESC LIMIT 1 OFFSET ?2)"},
		{&h.purge, s.w, "DELETE FROM " + h.q + " WHERE key = ?"},
		{&h.list, s.r, "SELECT " + sqlstore.RevisionColumns + " FROM " + h.q + " WHERE key = ? AND rev < ? ORDER BY rev DESC LIMIT ?"},
		{&h.find, s.r, "SELECT " + sqlstore.RevisionColumns + " FROM " + h.q + " WHERE key = ? AND rev = ?"},
		{&h.exists, s.r, "SELECT EXISTS (SELECT 1 FROM " + h.q + " WHERE key = ?)"},
	} {
		st, err := s.prepare(ctx, p.db, p.sql)
		if err != nil {
			return err
		}
		*p.st = st
	}
	t.hist = h
	return nil
}

// append writes one revision, whose values encode as state (restkit.EncodeState),
// inside WriteRecord's transaction and prunes the key's history to keep revisions
// when keep > 0.
func (h *history) append(ctx context.Context, tx *sql.Tx, k any, rev *restkit.Revision, state string, keep int) error {
	if _, err := tx.StmtContext(ctx, h.insert).ExecContext(ctx, k, rev.Rev, rev.Deleted, rev.Actor, state,
		sqlstore.FormatTime(rev.Created), sqlstore.FormatTime(rev.Updated)); err != nil {
		return err
	}
	if keep > 0 {
		if _, err := tx.StmtContext(ctx, h.prune).ExecContext(ctx, k, keep-1); err != nil {
			return err
		}
	}
	return nil
}

// historyOf returns the table and canonical key for a history call; a nil history
// means the resource keeps none.
func (s *Store) historyOf(res *restkit.Resource, key any, op string) (*table, any, error) {
	t, err := s.tableOf(res, op)
	if err != nil {
		return nil, nil, err
	}
	k, err := t.res.CanonicalKey(key)
	if err != nil {
		return nil, nil, err
	}
	return t, k, nil
}

// ListRevisions returns a record's revisions newest first (see restkit.HistoryStore).
func (s *Store) ListRevisions(ctx context.Context, res *restkit.Resource, key any, before int64, limit int) ([]*restkit.Revision, bool, error) {
	const op = "sqlite.ListRevisions"
	t, k, err := s.historyOf(res, key, op)
	if err != nil {
		return nil, false, err
	}
	if t.hist == nil {
		return nil, false, t.res.NoRevisions(k)
	}
	if before <= 0 {
		before = math.MaxInt64
	}
	n := int64(-1) // SQLite: no limit
	if limit > 0 {
		n = int64(limit) + 1 // one more tells whether there are more
	}
	rows, err := t.hist.list.QueryContext(ctx, k, before, n)
	if err != nil {
		return nil, false, wrap(op, err)
	}
	defer rows.Close()
	revs, err := sqlstore.Collect(rows, nil, func(row sqlstore.Scanner) (*restkit.Revision, error) { return sqlstore.ScanRevision(row, t.res) })
	if err != nil {
		return nil, false, wrap(op, err)
	}
	more := false
	if limit > 0 && len(revs) > limit {
		revs, more = revs[:limit], true
	}
	if len(revs) == 0 {
		var exists bool
		if err := t.hist.exists.QueryRowContext(ctx, k).Scan(&exists); err != nil {
			return nil, false, wrap(op, err)
		}
		if !exists {
			return nil, false, t.res.NoRevisions(k)
		}
	}
	return revs, more, nil
}

// FindRevision returns one revision of a record (see restkit.HistoryStore).
func (s *Store) FindRevision(ctx context.Context, res *restkit.Resource, key any, rev int64) (*restkit.Revision, error) {
	const op = "sqlite.FindRevision"
	t, k, err := s.historyOf(res, key, op)
	if err != nil {
		return nil, err
	}
	if t.hist == nil {
		return nil, t.res.NoRevision(k, rev)
	}
	r, err := sqlstore.ScanRevision(t.hist.find.QueryRowContext(ctx, k, rev), t.res)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, t.res.NoRevision(k, rev)
		}
		return nil, wrap(op, err)
	}
	return r, nil
}

// PurgeHistory deletes every revision of a record (see restkit.HistoryStore).
func (s *Store) PurgeHistory(ctx context.Context, res *restkit.Resource, key any) error {
	const op = "sqlite.PurgeHistory"
	t, k, err := s.historyOf(res, key, op)
	if err != nil {
		return err
	}
	if t.hist == nil {
		return t.res.NoRevisions(k)
	}
	r, err := t.hist.purge.ExecContext(ctx, k)
	if err != nil {
		return wrap(op, err)
	}
	if n, err := r.RowsAffected(); err != nil {
		return wrap(op, err)
	} else if n == 0 {
		return t.res.NoRevisions(k)
	}
	return nil
}
