package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"
)

var _ restkit.KeyAllocator = (*Store)(nil)

// The count of a resource whose integer key the store generates is a row of
// _restkit_keys: (store_name, last), last being the last key handed out. AllocateKeys
// adds n to it in one statement on the writer connection, committed on its own, before
// the create that uses the keys: so a key is never handed out twice, also when that
// create fails (it leaves a gap), and a crash loses either the allocation and every
// later write, or nothing (the WAL keeps commits in order).
const keysSQL = `CREATE TABLE ` + sqlstore.KeysTable + ` (
	store_name TEXT PRIMARY KEY NOT NULL,
	last       INTEGER NOT NULL
) STRICT, WITHOUT ROWID`

// AllocateKeys reserves n consecutive keys of res (restkit.KeyAllocator).
func (s *Store) AllocateKeys(ctx context.Context, res *restkit.Resource, n int) (int64, error) {
	const op = "sqlite.AllocateKeys"
	t, err := s.tableOf(res, op)
	if err != nil {
		return 0, err
	}
	if err := sqlstore.CheckAllocation(t.res, n); err != nil {
		return 0, err
	}
	var last int64
	err = s.w.QueryRowContext(ctx, `UPDATE `+sqlstore.KeysTable+` SET last = last + ? WHERE store_name = ? RETURNING last`, n, t.name).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, wrap(op, fmt.Errorf("resource %s has no key count: Migrate did not see its key generated", t.name))
	}
	if err != nil {
		return 0, wrap(op, err)
	}
	return last - int64(n) + 1, nil
}

// keys, inside Migrate's transaction, starts the count of a resource whose integer key
// the store generates at the highest key its table and its history table hold, or
// raises a count that is lower (the key was taken from the body for a while). It
// writes nothing when the count is already there and high enough, so migrating the
// same schema again changes nothing.
func (m *migration) keys(ctx context.Context) error {
	var exists bool
	if err := m.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?)`, sqlstore.KeysTable).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if err := m.exec(ctx, keysSQL); err != nil {
			return err
		}
	}
	var top int64
	if err := m.tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(`+quote(m.Res.Key)+`), 0) FROM `+m.q).Scan(&top); err != nil {
		return err
	}
	// A history table keeps the keys of deleted records too; one with a key of another
	// type is from before the key changed and holds none of these keys.
	hist := m.name + sqlstore.HistorySuffix
	var typ string
	err := m.tx.QueryRowContext(ctx, `SELECT type FROM pragma_table_info(?) WHERE name = 'key'`, hist).Scan(&typ)
	switch {
	case err == nil && strings.EqualFold(typ, "INTEGER"):
		var h int64
		if err := m.tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(key), 0) FROM `+quote(hist)).Scan(&h); err != nil {
			return err
		}
		top = max(top, h)
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return err
	}
	var last int64
	err = m.tx.QueryRowContext(ctx, `SELECT last FROM `+sqlstore.KeysTable+` WHERE store_name = ?`, m.name).Scan(&last)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return m.exec(ctx, `INSERT INTO `+sqlstore.KeysTable+` (store_name, last) VALUES (?, ?)`, m.name, max(top, 0))
	case err != nil:
		return err
	case last < top:
		return m.exec(ctx, `UPDATE `+sqlstore.KeysTable+` SET last = ? WHERE store_name = ?`, top, m.name)
	}
	return nil
}
