package postgres

import (
	"context"
	"errors"
	"math"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"

	"github.com/jackc/pgx/v5"
)

// history is the history table of a resource declared with History, and its SQL.
// See restkit.HistoryStore for what it holds.
type history struct {
	name, q string

	insert string // one revision, replacing one of the same number
	prune  string // drop revisions of a key older than the newest N
	purge  string // drop every revision of a key
	list   string // revisions of a key below a rev, newest first
	find   string // one revision
	exists string // whether a key has any revision
}

func newHistory(t *table) *history {
	h := &history{name: t.name + sqlstore.HistorySuffix, q: quote(t.name + sqlstore.HistorySuffix)}
	h.insert = "INSERT INTO " + h.q + " (key, " + sqlstore.RevisionColumns + ") VALUES ($1, $2, $3, $4, $5, $6, $7)" +
		" ON CONFLICT (key, rev) DO UPDATE SET deleted = excluded.deleted, actor = excluded.actor, state = excluded.state, created = excluded.created, updated = excluded.updated"
	h.prune = "DELETE FROM " + h.q + " WHERE key = $1 AND rev < (SELECT rev FROM " + h.q + " WHERE key = $1 ORDER BY rev DESC LIMIT 1 OFFSET $2)"
	h.purge = "DELETE FROM " + h.q + " WHERE key = $1"
	h.list = "SELECT " + sqlstore.RevisionColumns + " FROM " + h.q + " WHERE key = $1 AND rev < $2 ORDER BY rev DESC LIMIT $3"
	h.find = "SELECT " + sqlstore.RevisionColumns + " FROM " + h.q + " WHERE key = $1 AND rev = $2"
	h.exists = "SELECT EXISTS (SELECT 1 FROM " + h.q + " WHERE key = $1)"
	return h
}

// historySQL creates the history table of res. The key column is typed like the key;
// state is the JSON object of the revision's values, as a noun's state is stored.
func historySQL(res *restkit.Resource) string {
	name := res.StoreName + sqlstore.HistorySuffix
	return "CREATE TABLE " + quote(name) + ` (
	key     ` + sqlType(sqlstore.FieldKind(res.KeyField())) + ` NOT NULL,
	rev     bigint NOT NULL,
	deleted boolean NOT NULL,
	actor   text NOT NULL,
	state   text NOT NULL,
	created text NOT NULL,
	updated text NOT NULL,
	CONSTRAINT ` + quote(keyConstraint(name)) + ` PRIMARY KEY (key, rev)
)`
}

// history creates the history table of a resource declared with History, inside
// Migrate's transaction. It is additive: a table already there is kept, and turning
// History off later leaves it alone. A table whose key column has another type (the
// key changed while history was off) is a destructive step: refused, or dropped and
// made anew.
func (m *migration) history(ctx context.Context) error {
	name := m.name + sqlstore.HistorySuffix
	cols, err := tableColumns(ctx, m.tx, name)
	if err != nil {
		return err
	}
	typ, ok := cols["key"]
	if !ok {
		return m.exec(ctx, historySQL(m.Res))
	}
	if !m.CheckHistoryKey(name, typ) || len(m.Problems) > 0 {
		return nil
	}
	if err := m.exec(ctx, "DROP TABLE "+quote(name)); err != nil { // allowed: the old history goes
		return err
	}
	return m.exec(ctx, historySQL(m.Res))
}

// append queues one revision, whose values encode as state, and the pruning of the
// key's history to keep revisions when keep > 0, for the transaction's next round
// trip; fail maps their errors.
func (h *history) append(tx *writeTx, k any, rev *restkit.Revision, state string, keep int, fail func(error) error) {
	tx.later(fail, h.insert, k, rev.Rev, rev.Deleted, rev.Actor, state, sqlstore.FormatTime(rev.Created), sqlstore.FormatTime(rev.Updated))
	if keep > 0 {
		tx.later(fail, h.prune, k, int64(keep-1))
	}
}

// historyOf returns the table and canonical key for a history call; ok is false
// when no revision can exist: the resource keeps no history, or the key is text
// PostgreSQL could not have stored.
func (s *Store) historyOf(res *restkit.Resource, key any, op string) (t *table, k any, ok bool, err error) {
	t, err = s.tableOf(res, op)
	if err != nil {
		return nil, nil, false, err
	}
	k, err = t.res.CanonicalKey(key)
	if err != nil {
		return nil, nil, false, err
	}
	if ks, isText := k.(string); isText && textProblem(ks) != "" {
		return t, k, false, nil
	}
	return t, k, t.hist != nil, nil
}

// ListRevisions returns a record's revisions newest first (see restkit.HistoryStore).
func (s *Store) ListRevisions(ctx context.Context, res *restkit.Resource, key any, before int64, limit int) ([]*restkit.Revision, bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	const op = "postgres.ListRevisions"
	t, k, ok, err := s.historyOf(res, key, op)
	if err != nil {
		return nil, false, err
	}
	if !ok {
		return nil, false, t.res.NoRevisions(k)
	}
	if before <= 0 {
		before = math.MaxInt64
	}
	var n *int64 // NULL: no limit
	if limit > 0 {
		n = new(int64(limit) + 1) // one more tells whether there are more
	}
	rows, err := s.pool.Query(ctx, t.hist.list, k, before, n)
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
		if err := s.pool.QueryRow(ctx, t.hist.exists, k).Scan(&exists); err != nil {
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
	ctx, cancel := s.bound(ctx)
	defer cancel()
	const op = "postgres.FindRevision"
	t, k, ok, err := s.historyOf(res, key, op)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, t.res.NoRevision(k, rev)
	}
	r, err := sqlstore.ScanRevision(s.pool.QueryRow(ctx, t.hist.find, k, rev), t.res)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, t.res.NoRevision(k, rev)
		}
		return nil, wrap(op, err)
	}
	return r, nil
}

// PurgeHistory deletes every revision of a record (see restkit.HistoryStore). It
// takes the record's lock, so it never runs in the middle of a write to the record.
func (s *Store) PurgeHistory(ctx context.Context, res *restkit.Resource, key any) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	const op = "postgres.PurgeHistory"
	t, k, ok, err := s.historyOf(res, key, op)
	if err != nil {
		return err
	}
	if !ok {
		return t.res.NoRevisions(k)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return wrap(op, err)
	}
	defer tx.Rollback(ctx)
	if err := lock(ctx, tx, s.recordLock(t, k)); err != nil {
		return wrap(op, err)
	}
	tag, err := tx.Exec(ctx, t.hist.purge, k)
	if err != nil {
		return wrap(op, err)
	}
	if tag.RowsAffected() == 0 {
		return t.res.NoRevisions(k)
	}
	return wrap(op, tx.Commit(ctx))
}
