package postgres

import (
	"bytes"
	"context"
	"fmt"
	"net"
	neturl "net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/artefact"
	"github.com/restkit/restkit/fsblob"
)

// TestSecretIsSharedByEveryNode: two stores (two nodes) asking at once get one value.
func TestSecretIsSharedByEveryNode(t *testing.T) {
	a, b := twoNodes(t)
	ctx := context.Background()
	got := make(chan []byte, 2)
	for _, s := range []*Store{a, b} {
		go func() {
			v, err := s.Secret(ctx, "cursor", 32)
			if err != nil {
				t.Error(err)
			}
			got <- v
		}()
	}
	x, y := <-got, <-got
	if len(x) != 32 || !bytes.Equal(x, y) {
		t.Fatalf("secrets differ: %x %x", x, y)
	}
	if z, _ := a.Secret(ctx, "other", 32); bytes.Equal(z, x) {
		t.Fatal("two names, one value")
	}
}

// TestLockDigestAcrossNodes: a digest locked by one store (node) cannot be locked by
// another until it is released; other digests are free.
func TestLockDigestAcrossNodes(t *testing.T) {
	url := testURL(t)
	ctx := context.Background()
	a, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	d := strings.Repeat("ab", 32)
	unlock, err := a.LockDigest(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	if _, err := b.LockDigest(short, d); err == nil {
		t.Fatal("b locked a digest a holds")
	}
	cancel()
	other, err := b.LockDigest(ctx, strings.Repeat("cd", 32))
	if err != nil {
		t.Fatalf("another digest: %v", err)
	}
	other()
	got := make(chan error, 1)
	go func() {
		u, err := b.LockDigest(ctx, d)
		if err == nil {
			u()
		}
		got <- err
	}()
	unlock()
	if err := <-got; err != nil {
		t.Fatalf("b after a released: %v", err)
	}
}

// TestMetaObjectsCoverMetaSQL: Open runs metaSQL only when one of metaObjects is
// missing, so the list must name everything metaSQL creates.
func TestMetaObjectsCoverMetaSQL(t *testing.T) {
	if n := strings.Count(metaSQL, "IF NOT EXISTS"); n != len(metaObjects) || n < 8 {
		t.Fatalf("metaSQL creates %d objects, metaObjects names %d: %v", n, len(metaObjects), metaObjects)
	}
}

// TestLostDatabaseIsUnavailable: a database that cannot be reached is a 503 kind
// (Unavailable), not Internal.
func TestLostDatabaseIsUnavailable(t *testing.T) {
	pool, err := pgxpool.New(context.Background(), "postgres://postgres@127.0.0.1:1/test?connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var one int
	err = pool.QueryRow(context.Background(), "SELECT 1").Scan(&one)
	if err == nil {
		t.Fatal("connected to port 1")
	}
	if got := wrap("postgres.FindRecord", err); !restkit.IsKind(got, restkit.Unavailable) {
		t.Fatalf("wrap(%v) = %v, want Unavailable", err, got)
	}
}

// TestConcurrentDeletesFreeSharedContent: two nodes deleting the last two versions
// that share one content at the same time: one of them must report it freed (before,
// each still saw the other's row and the blob leaked until a restart).
func TestConcurrentDeletesFreeSharedContent(t *testing.T) {
	a, b := twoNodes(t)
	ctx := context.Background()
	for i := 0; i < 30; i++ {
		d := fmt.Sprintf("%064x", i+1)
		for _, dir := range []string{"la", "lb"} {
			if _, _, err := a.AddVersion(ctx, &restkit.Artefact{Directory: dir, ID: "f", SHA256: d, Size: 1, ContentType: "x/y", Updated: time.Now()}, nil, 0); err != nil {
				t.Fatal(err)
			}
		}
		freed := make(chan []string, 2)
		for _, c := range []struct {
			s   *Store
			dir string
		}{{a, "la"}, {b, "lb"}} {
			go func() {
				f, err := c.s.DeleteArtefacts(ctx, c.dir, "f", 0)
				if err != nil {
					t.Error(err)
				}
				freed <- f
			}()
		}
		f1, f2 := <-freed, <-freed
		if len(f1)+len(f2) == 0 {
			t.Fatalf("round %d: neither delete freed the shared content", i)
		}
	}
}

// TestCrossedUniqueBatches: two nodes creating batches whose unique values cross
// ([1:X, 2:Y] and [3:Y, 4:X]) deadlock in PostgreSQL; the loser is run again and gets
// the Conflict a serial run gives, never a 503.
func TestCrossedUniqueBatches(t *testing.T) {
	a, b := twoNodes(t)
	ctx := context.Background()
	sc := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{{Name: "cars", Key: "id",
		Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}, {Name: "vin", Type: restkit.TypeString, Unique: true}}}}}}}
	if err := sc.Prepare(); err != nil {
		t.Fatal(err)
	}
	res := sc.APIs[0].Resources[0]
	stores := []*Store{a, b}
	for _, s := range stores {
		if err := s.Migrate(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	create := func(vals []map[string]any) func(int, *restkit.Record) (*restkit.Record, error) {
		return func(i int, cur *restkit.Record) (*restkit.Record, error) {
			now := time.Now()
			return &restkit.Record{Values: vals[i], Created: now, Updated: now}, nil
		}
	}
	for round := 0; round < 8; round++ { // a deadlock takes PostgreSQL deadlock_timeout (1 s) to find
		base := int64(round * 10)
		x, y := fmt.Sprintf("X%d", round), fmt.Sprintf("Y%d", round)
		batches := [][]map[string]any{
			{{"id": base + 1, "vin": x}, {"id": base + 2, "vin": y}},
			{{"id": base + 3, "vin": y}, {"id": base + 4, "vin": x}},
		}
		errs := make(chan error, 2)
		for i, b := range batches {
			go func() {
				_, err := stores[i].WriteRecords(ctx, res, []any{b[0]["id"], b[1]["id"]}, create(b))
				errs <- err
			}()
		}
		for i := 0; i < 2; i++ {
			if err := <-errs; err != nil && !restkit.IsKind(err, restkit.Conflict) {
				t.Fatalf("round %d: %v (want success or Conflict)", round, err)
			}
		}
	}
}

// twoNodes opens two stores (two nodes) on a fresh schema, closed and dropped at
// the end of the test; it skips without PostgreSQL (testenv.Postgres).
func twoNodes(t *testing.T) (a, b *Store) {
	t.Helper()
	url := testURL(t)
	schemaURL, drop, err := NewTestSchema(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = drop(context.Background()) })
	var stores [2]*Store
	for i := range stores {
		s, err := Open(context.Background(), schemaURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	return stores[0], stores[1]
}

// TestStalledDatabaseFailsTheCall: a database that stops answering without closing
// the connection (a stalled network path) fails a call after the statement timeout
// and a margin, as Unavailable, instead of holding it for as long as TCP takes.
func TestStalledDatabaseFailsTheCall(t *testing.T) {
	url := testURL(t)
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	// A relay to PostgreSQL that can be told to stop forwarding, keeping its sockets.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var stalled atomic.Bool
	upstream := u.Host
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", upstream)
			if err != nil {
				c.Close()
				continue
			}
			pipe := func(dst, src net.Conn) {
				buf := make([]byte, 32<<10)
				for {
					n, err := src.Read(buf)
					for stalled.Load() {
						time.Sleep(10 * time.Millisecond)
					}
					if err != nil || n == 0 {
						return
					}
					if _, err := dst.Write(buf[:n]); err != nil {
						return
					}
				}
			}
			go pipe(up, c)
			go pipe(c, up)
		}
	}()
	u.Host = ln.Addr().String()
	// A deadline of 2.5 s + 2.5 s per call: what a call needs on a loaded machine
	// when it is not stalled (the connection is made by Ping, which has none).
	s, err := Open(context.Background(), u.String(), WithStatementTimeout(2500*time.Millisecond), WithMaxConns(1))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { stalled.Store(false); go s.Close() }() // pgx closes a timed-out connection in the background, for up to 15 s
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Referenced(context.Background(), strings.Repeat("a", 64)); err != nil {
		t.Fatalf("before the stall: %v", err)
	}
	stalled.Store(true)
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := s.Referenced(context.Background(), strings.Repeat("b", 64))
		done <- err
	}()
	select {
	case err := <-done:
		if !restkit.IsKind(err, restkit.Unavailable) {
			t.Fatalf("a stalled call: %v, want Unavailable", err)
		}
		t.Logf("the stalled call ended after %v", time.Since(start).Round(time.Millisecond))
	case <-time.After(60 * time.Second):
		t.Fatal("a call to a stalled database did not end")
	}
}

// TestCollectAsksInPages: the repository's start-up collection on PostgreSQL asks
// which blobs are unreferenced a page at a time (Unreferenced), and frees exactly those.
func TestCollectAsksInPages(t *testing.T) {
	a, _ := twoNodes(t)
	ctx := context.Background()
	blobs, err := fsblob.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	put := func(content string) string {
		st, err := blobs.Stage(ctx, strings.NewReader(content), 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		return st.SHA256()
	}
	kept := put("referenced")
	if _, _, err := a.AddVersion(ctx, &restkit.Artefact{Directory: "d", ID: "f", SHA256: kept, Size: 10, ContentType: "x/y", Updated: time.Now()}, nil, 0); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		put(fmt.Sprintf("orphan %d", i))
	}
	n, err := artefact.New(artefact.Options{Blobs: blobs, Meta: a, Locker: a}).Collect(ctx)
	if err != nil || n != 3 {
		t.Fatalf("Collect: %d, %v; want 3 freed", n, err)
	}
	var left []string
	_ = blobs.List(ctx, func(d string) error { left = append(left, d); return nil })
	if len(left) != 1 || left[0] != kept {
		t.Fatalf("left: %v, want only %s", left, kept)
	}
}

// TestWrapKinds: the server's answers a client can act on keep their meaning: a full
// disk on the database server is InsufficientStorage (507), a deadlock Unavailable,
// and a syntax error (our bug) Internal.
func TestWrapKinds(t *testing.T) {
	for code, want := range map[string]restkit.Kind{
		"53100": restkit.InsufficientStorage, // disk_full
		"40P01": restkit.Unavailable,         // deadlock_detected
		"42601": restkit.Internal,            // syntax_error
	} {
		err := fmt.Errorf("exec: %w", &pgconn.PgError{Code: code, Message: "SQL text that must not leak"})
		got := wrap("postgres.WriteRecord", err)
		if !restkit.IsKind(got, want) {
			t.Errorf("wrap(%s) = %v, want %s", code, got, want)
		}
		if msg := restkit.ErrorMessage(got); strings.Contains(msg, "SQL") {
			t.Errorf("wrap(%s) shows %q to clients", code, msg)
		}
	}
}
