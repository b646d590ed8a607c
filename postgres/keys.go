package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"

	"github.com/jackc/pgx/v5"
)

var _ restkit.KeyAllocator = (*Store)(nil)

// The count of a resource whose integer key the store generates is a row of
// _restkit_keys: (store_name, last), last being the last key handed out. AllocateKeys
// adds n to it in one statement, committed on its own before the create that uses the
// keys, like nextval of a sequence: the row lock serialises allocations from every
// node (at READ COMMITTED an UPDATE waiting for another adds to what that one left),
// so no key is handed out twice, and a create that fails leaves a gap. Unlike a
// sequence, n keys come at once and consecutive, for a bulk create.
const keysSQL = `CREATE TABLE IF NOT EXISTS ` + sqlstore.KeysTable + ` (
	store_name text COLLATE "C" PRIMARY KEY,
	last       bigint NOT NULL
)`

// AllocateKeys reserves n consecutive keys of res (restkit.KeyAllocator).
func (s *Store) AllocateKeys(ctx context.Context, res *restkit.Resource, n int) (int64, error) {
	const op = "postgres.AllocateKeys"
	t, err := s.tableOf(res, op)
	if err != nil {
		return 0, err
	}
	if err := sqlstore.CheckAllocation(t.res, n); err != nil {
		return 0, err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var last int64
	err = s.pool.QueryRow(ctx, `UPDATE `+sqlstore.KeysTable+` SET last = last + $1 WHERE store_name = $2 RETURNING last`, n, t.name).Scan(&last)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, restkit.Wrap(op, fmt.Errorf("resource %s has no key count: Migrate did not see its key generated", t.name))
	}
	if err != nil {
		return 0, wrap(op, err)
	}
	return last - int64(n) + 1, nil
}

// keys, inside Migrate's transaction (which holds the schema's migration lock), starts
// the count of a resource whose integer key the store generates at the highest key its
// table and its history table hold, or raises a count that is lower (the key was
// taken from the body for a while). It writes nothing when the count is already there
// and high enough, so migrating the same schema again changes nothing.
func (m *migration) keys(ctx context.Context) error {
	var exists bool
	if err := m.tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, sqlstore.KeysTable).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if err := m.exec(ctx, keysSQL); err != nil {
			return err
		}
	}
	var top int64
	if err := m.tx.QueryRow(ctx, `SELECT coalesce(max(`+quote(m.Res.Key)+`), 0) FROM `+m.q).Scan(&top); err != nil {
		return err
	}
	// A history table keeps the keys of deleted records too; one with a key of another
	// type is from before the key changed and holds none of these keys.
	hist := m.name + sqlstore.HistorySuffix
	cols, err := tableColumns(ctx, m.tx, hist)
	if err != nil {
		return err
	}
	if cols["key"] == sqlType(sqlstore.KInt) {
		var h int64
		if err := m.tx.QueryRow(ctx, `SELECT coalesce(max(key), 0) FROM `+quote(hist)).Scan(&h); err != nil {
			return err
		}
		top = max(top, h)
	}
	top = max(top, 0)
	var last int64
	err = m.tx.QueryRow(ctx, `SELECT last FROM `+sqlstore.KeysTable+` WHERE store_name = $1`, m.name).Scan(&last)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return m.exec(ctx, `INSERT INTO `+sqlstore.KeysTable+` (store_name, last) VALUES ($1, $2)`, m.name, top)
	case err != nil:
		return err
	case last < top:
		// Allocations go on while nodes migrate: only ever raise the count.
		return m.exec(ctx, `UPDATE `+sqlstore.KeysTable+` SET last = $1 WHERE store_name = $2 AND last < $1`, top, m.name)
	}
	return nil
}
