package postgres

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// digestLockSpace is the first key of the two-key advisory locks on digests, so
// they cannot collide with the other advisory locks of the database (migrations
// use the one-key form).
const digestLockSpace int32 = 0x726b6264 // "rkbd"

// lockConns is the size of the pool that holds digest locks; lockWait bounds the
// wait for one.
const (
	lockConns = 16
	lockWait  = 10 * time.Minute
)

// LockDigest takes the cluster-wide lock of a blob digest: "publish a blob and record
// a version that references it" and "find it unreferenced and delete it" must not
// interleave on any two nodes, or a delete on one node could remove the blob another
// node is about to reference. The lock is a PostgreSQL session advisory lock, held on
// a connection of a small pool of its own (so that a holder's own queries, on the main
// pool, can never wait for a connection a holder keeps); if the node dies, PostgreSQL
// releases it with the session. unlock must be called exactly once.
func (s *Store) LockDigest(ctx context.Context, digest string) (unlock func(), err error) {
	const op = "postgres.LockDigest"
	// Waiting is bounded by the holder (a commit, a server-side copy of a large blob),
	// so generously; but bounded, or a stalled database would hold the upload, and
	// this node's lock stripe, for ever.
	ctx, cancel := context.WithTimeout(ctx, lockWait)
	defer cancel()
	pool, err := s.lockPool(ctx)
	if err != nil {
		return nil, wrap(op, err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, wrap(op, err)
	}
	key := digestKey(digest)
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1, $2)`, digestLockSpace, key); err != nil {
		// The session may hold the lock if the error came late: close it to be sure.
		_ = conn.Conn().Close(context.Background())
		conn.Release()
		return nil, wrap(op, err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT pg_advisory_unlock($1, $2)`, digestLockSpace, key).Scan(&ok); err != nil || !ok {
			_ = conn.Conn().Close(context.Background()) // closing the session releases its locks
		}
		conn.Release()
	}, nil
}

// digestKey is the second key of a digest's lock: 32 bits of the digest. Two digests
// sharing them only serialise each other.
func digestKey(digest string) int32 {
	b, err := hex.DecodeString(digest[:min(8, len(digest))])
	if err != nil || len(b) < 4 {
		var h uint32 = 2166136261
		for i := 0; i < len(digest); i++ {
			h = (h ^ uint32(digest[i])) * 16777619
		}
		return int32(h)
	}
	return int32(binary.BigEndian.Uint32(b))
}

// lockPool opens the digest-lock pool on first use, with the main pool's settings.
func (s *Store) lockPool(ctx context.Context) (*pgxpool.Pool, error) {
	s.lockOnce.Do(func() {
		cfg := s.pool.Config()
		cfg.MaxConns = lockConns
		cfg.MinConns = 0
		// Waiting for a digest lock is bounded by its holder (an upload's commit, a
		// server-side copy of a large blob), not by the statement timeout.
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = "0"
		s.locks, s.lockErr = pgxpool.NewWithConfig(ctx, cfg)
	})
	return s.locks, s.lockErr
}

// lockState is the lock pool of a Store, embedded so that Close can close it.
type lockState struct {
	lockOnce sync.Once
	locks    *pgxpool.Pool
	lockErr  error
}
