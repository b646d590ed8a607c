//go:build linux

package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/config"
	"github.com/restkit/restkit/internal/sqlstore"

	"github.com/jackc/pgx/v5"
)

// BenchmarkCreateCeiling measures what a create on PostgreSQL could cost at best
// when it keeps history and the change log in its own transaction: creates per
// second and the PostgreSQL backends' CPU per create, for the store's WriteRecord
// and for the same statements sent in one round trip, with parts left out one at
// a time (the variants are listed in (*ceiling).variants and printed with the
// table), next to one autocommit INSERT (bench/pgbaseline's POST). It answers
// whether a create in one round trip could reach 0.8x of the INSERT, or whether
// the transaction's work on the server is the limit ("Scale-out on PostgreSQL" in
// bench/README.md).
//
// Every variant writes fresh keys into the demo's cars table (config.Demo, migrated
// by the store: the same columns, indexes, history table and change log), through
// the store's pool of 4 connections, from 16 goroutines. A round runs each variant
// once (1 s of warm-up, then CEILING_DURATION measured), in an order rotated by one
// each round; the table gives medians and the range over CEILING_ROUNDS rounds,
// and each variant's rate over the insert's of the same round. CPU is read from
// /proc (Linux; PostgreSQL on this machine): the utime+stime of the pool's 4
// backends (found by pg_backend_pid), of PostgreSQL's walwriter, background writer
// and checkpointer (shared with anything else the server runs), and of this
// process (getrusage). WAL is pg_current_wal_insert_lsn's progress, also
// server-wide. The waits are samples of the backends' wait_event in
// pg_stat_activity (every 20 ms, from a connection of its own); Lock:object is
// the lock NOTIFY takes for its commit.
//
//	go test ./postgres -run '^$' -bench CreateCeiling -benchtime 1x -timeout 30m
//	CEILING_ROUNDS=5 CEILING_DURATION=4s CEILING_VARIANTS=insert,store,batch go test ./postgres -run '^$' -bench CreateCeiling -benchtime 1x
//
// CEILING_SYNCHRONOUS_COMMIT=off sets synchronous_commit for the benchmark's own
// sessions (not the server's): commits then wait for no WAL flush, and what is
// left is each variant's CPU. The pool's backends have application_name
// restkit-ceiling (for perf -p). The rounds and the table go to standard output.
// It needs RESTKIT_TEST_POSTGRES (or a local server, as the tests do) and skips
// without one.
func BenchmarkCreateCeiling(b *testing.B) {
	rounds := envInt(b, "CEILING_ROUNDS", 3)
	dur := envDuration(b, "CEILING_DURATION", 5*time.Second)
	params := []string{"application_name=restkit-ceiling"}
	if v := os.Getenv("CEILING_SYNCHRONOUS_COMMIT"); v != "" {
		params = append(params, "synchronous_commit="+v)
	}
	u := newTestSchema(b)
	if strings.Contains(u, "://") { // withSearchPath gave it a query
		u += "&" + strings.Join(params, "&")
	} else {
		u += " " + strings.Join(params, " ")
	}
	s := mustOpen(b, u, WithMaxConns(ceilingConns))
	cfg, err := config.Parse("demo.yaml", config.Demo())
	if err != nil {
		b.Fatal(err)
	}
	mustMigrate(b, s, cfg.Schema)
	var syncCommit string
	if err := s.pool.QueryRow(ctx, `SHOW synchronous_commit`).Scan(&syncCommit); err != nil {
		b.Fatal(err)
	}
	var res *restkit.Resource
	for _, api := range cfg.Schema.APIs {
		for _, r := range api.Resources {
			if r.Name == "cars" {
				res = r
			}
		}
	}
	if res == nil || !res.History {
		b.Fatal("the demo has no cars with history")
	}
	c := &ceiling{s: s, res: res, t: s.mustTable(b, res)}
	variants := c.variants()
	if want := os.Getenv("CEILING_VARIANTS"); want != "" {
		names := strings.Split(want, ",")
		variants = slices.DeleteFunc(variants, func(v ceilingVariant) bool { return !slices.Contains(names, v.name) })
		if len(variants) == 0 {
			b.Fatalf("CEILING_VARIANTS=%s names none of the variants", want)
		}
	}
	mon, err := pgx.Connect(ctx, s.pool.Config().ConnConfig.ConnString())
	if err != nil {
		b.Fatal(err)
	}
	defer mon.Close(context.Background())

	results := map[string][]ceilingResult{}
	fmt.Printf("load average at the start: %s\n", loadAverage())
	for r := range rounds {
		for i := range variants {
			v := variants[(i+r)%len(variants)]
			res, err := c.run(mon, v, dur)
			if err != nil {
				b.Fatalf("%s: %v", v.name, err)
			}
			results[v.name] = append(results[v.name], res)
			fmt.Printf("round %d/%d %-12s %7.0f creates/s  backends %6.1f µs  aux %5.1f µs  client %6.1f µs  WAL %5.0f B  per create%s\n",
				r+1, rounds, v.name, res.rate, res.backendUS, res.auxUS, res.clientUS, res.walBytes, res.note)
		}
	}
	fmt.Printf("load average at the end: %s\n", loadAverage())

	var out strings.Builder
	fmt.Fprintf(&out, "%d rounds of %s, %d goroutines, %d connections, synchronous_commit %s; medians [min–max]\n", rounds, dur, ceilingWorkers, ceilingConns, syncCommit)
	fmt.Fprintf(&out, "%-12s %20s %18s %20s %16s %20s %16s  %s\n", "variant", "creates/s", "÷ insert's", "backend CPU µs/create", "aux µs/create", "client CPU µs/create", "WAL B/create", "top waits")
	for _, v := range variants {
		rs := results[v.name]
		rate := ceilingColumn(rs, func(r ceilingResult) float64 { return r.rate })
		// Each round's rate over the same round's insert: the disk's latency, which
		// sets the rates when commits wait for a flush, drifts with other work.
		ratio := "-"
		if ins := results["insert"]; len(ins) == len(rs) {
			ratios := make([]float64, len(rs))
			for i := range rs {
				ratios[i] = rs[i].rate / ins[i].rate
			}
			ratio = spread(ratios, "%.2f")
		}
		fmt.Fprintf(&out, "%-12s %20s %18s %20s %16s %20s %16s  %s\n", v.name, spread(rate, "%.0f"), ratio,
			spread(ceilingColumn(rs, func(r ceilingResult) float64 { return r.backendUS }), "%.1f"),
			spread(ceilingColumn(rs, func(r ceilingResult) float64 { return r.auxUS }), "%.1f"),
			spread(ceilingColumn(rs, func(r ceilingResult) float64 { return r.clientUS }), "%.1f"),
			spread(ceilingColumn(rs, func(r ceilingResult) float64 { return r.walBytes }), "%.0f"),
			topWaits(rs))
	}
	for _, v := range variants {
		fmt.Fprintf(&out, "  %-12s %s\n", v.name, v.what)
	}
	fmt.Print(out.String())
	for _, v := range variants {
		rs := results[v.name]
		b.ReportMetric(median(ceilingColumn(rs, func(r ceilingResult) float64 { return r.rate })), v.name+"-creates/s")
		b.ReportMetric(median(ceilingColumn(rs, func(r ceilingResult) float64 { return r.backendUS })), v.name+"-backend-µs/create")
	}
}

const (
	ceilingConns   = 4   // the pool, as restkit's default on 2 CPUs
	ceilingWorkers = 16  // concurrent creates
	clockTicks     = 100 // USER_HZ: /proc's CPU times are in these per second
)

type ceiling struct {
	s    *Store
	res  *restkit.Resource
	t    *table
	next atomic.Int64 // the last key used: every create takes a fresh one
}

// ceilingVariant is one way to make a create; create makes the car with key id.
type ceilingVariant struct {
	name, what string
	create     func(ctx context.Context, id int64) error
}

// car is what every variant writes: the values, the row's arguments (t.insert's),
// the history row's state and the change-log event, as the store makes them.
type car struct {
	rec   *restkit.Record
	args  []any
	state string
	event restkit.Event
}

func (c *ceiling) car(id int64) (*car, error) {
	rec := &restkit.Record{Values: map[string]any{"id": id, "model": "model " + strconv.FormatInt(id, 10), "color": "red", "year": int64(1990)}}
	rec.Stamp(0, time.Time{})
	args := make([]any, len(c.t.cols), len(c.t.cols)+3)
	for i, col := range c.t.cols {
		if v, ok := rec.Values[col.Name]; ok {
			args[i] = encode(v)
		}
	}
	args = append(args, rec.Rev, sqlstore.FormatTime(rec.Created), sqlstore.FormatTime(rec.Updated))
	state, err := restkit.EncodeState(rec.Values)
	if err != nil {
		return nil, err
	}
	return &car{rec: rec, args: args, state: state, event: restkit.EventOfState(c.t.name, restkit.Format(id), nil, rec, state, time.Now())}, nil
}

// queue adds the statements of a create to b, from BEGIN to COMMIT, as the store
// sends them (WriteRecord, history.append, Store.commit) but without the locking
// SELECT: the key's lock, then what is wanted of the INSERT, the history row, the
// event and NOTIFY. With tx false there is no BEGIN and COMMIT either.
func (c *ceiling) queue(b *pgx.Batch, id int64, x *car, tx, lock, hist, event, notify bool) {
	if tx {
		b.Queue("BEGIN")
	}
	if lock {
		b.Queue(`SELECT pg_advisory_xact_lock($1)`, c.s.recordLock(c.t, id))
	}
	b.Queue(c.t.insert, x.args...)
	if hist {
		r := x.rec
		b.Queue(c.t.hist.insert, id, r.Rev, false, "", x.state, sqlstore.FormatTime(r.Created), sqlstore.FormatTime(r.Updated))
	}
	if event {
		e := x.event
		b.Queue(eventInsert, e.Source, e.Key, string(e.Op), e.Rev, sqlstore.FormatTime(e.Time), e.State, c.s.logLock())
	}
	if notify {
		b.Queue(`SELECT pg_notify($1, '')`, c.s.eventChannel())
	}
	if tx {
		b.Queue("COMMIT")
	}
}

func (c *ceiling) variants() []ceilingVariant {
	batch := func(tx, lock, hist, event, notify bool) func(ctx context.Context, id int64) error {
		return func(ctx context.Context, id int64) error {
			x, err := c.car(id)
			if err != nil {
				return err
			}
			b := &pgx.Batch{}
			c.queue(b, id, x, tx, lock, hist, event, notify)
			return c.s.pool.SendBatch(ctx, b).Close()
		}
	}
	// The whole create as one statement: its INSERTs as data-modifying CTEs, in the
	// statement's implicit transaction.
	t := c.t
	cols := make([]string, 0, len(t.cols)+3)
	marks := make([]string, 0, len(t.cols)+3)
	for i, col := range t.cols {
		cols = append(cols, col.Quoted)
		marks = append(marks, "$"+strconv.Itoa(i+1))
	}
	n := len(t.cols)
	cols = append(cols, "_rev", "_created", "_updated")
	marks = append(marks, "$"+strconv.Itoa(n+1), "$"+strconv.Itoa(n+2), "$"+strconv.Itoa(n+3))
	p := func(i int) string { return "$" + strconv.Itoa(n+3+i) }
	cteQuiet := "WITH c AS (INSERT INTO " + t.q + " (" + strings.Join(cols, ", ") + ") SELECT " + strings.Join(marks, ", ") +
		" WHERE pg_advisory_xact_lock(" + p(1) + ") IS NOT NULL)," +
		" h AS (INSERT INTO " + t.hist.q + " (key, " + sqlstore.RevisionColumns + ") VALUES ($1, $" + strconv.Itoa(n+1) + ", false, '', " + p(2) + ", $" + strconv.Itoa(n+2) + ", $" + strconv.Itoa(n+3) + "))," +
		" e AS (INSERT INTO _restkit_events (seq, source, key, op, rev, time, state) SELECT nextval('_restkit_events_seq'), " +
		p(3) + ", " + p(4) + ", " + p(5) + ", $" + strconv.Itoa(n+1) + ", " + p(6) + ", " + p(7) + " WHERE pg_advisory_xact_lock_shared(" + p(8) + ") IS NOT NULL)" +
		" SELECT 1"
	cte := strings.TrimSuffix(cteQuiet, "SELECT 1") + "SELECT pg_notify(" + p(9) + ", '')"
	cteArgs := func(x *car, id int64) []any {
		e := x.event
		return append(slices.Clip(x.args), c.s.recordLock(c.t, id), x.state, e.Source, e.Key, string(e.Op), sqlstore.FormatTime(e.Time), e.State, c.s.logLock())
	}
	return []ceilingVariant{
		{"insert", "one autocommit INSERT (bench/pgbaseline's POST)", func(ctx context.Context, id int64) error {
			x, err := c.car(id)
			if err != nil {
				return err
			}
			_, err = c.s.pool.Exec(ctx, c.t.insert, x.args...)
			return err
		}},
		{"store", "the store's WriteRecord: BEGIN, lock, SELECT … FOR UPDATE | INSERT, history, event, notify, COMMIT (2 round trips)", func(ctx context.Context, id int64) error {
			_, err := c.s.WriteRecord(ctx, c.res, id, func(cur *restkit.Record) (*restkit.Record, error) {
				if cur != nil {
					return nil, fmt.Errorf("car %d exists", id)
				}
				return &restkit.Record{Values: map[string]any{"model": "model " + strconv.FormatInt(id, 10), "color": "red", "year": int64(1990)}}, nil
			})
			return err
		}},
		{"batch", "BEGIN, lock, INSERT, history, event, notify, COMMIT: the store's statements but the SELECT, 1 round trip", batch(true, true, true, true, true)},
		{"batch-quiet", "batch without the notify", batch(true, true, true, true, false)},
		{"batch-late", "batch-quiet, then in the same round trip the notify in a transaction of its own, committed asynchronously", func(ctx context.Context, id int64) error {
			x, err := c.car(id)
			if err != nil {
				return err
			}
			b := &pgx.Batch{}
			c.queue(b, id, x, true, true, true, true, false)
			// After COMMIT a pipeline's statements run in an implicit transaction,
			// committed at its Sync; set_config(…, true) is local to it. NOTIFY
			// holds its lock through the commit, which then waits for no WAL flush.
			b.Queue(`SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, '')`, c.s.eventChannel())
			return c.s.pool.SendBatch(ctx, b).Close()
		}},
		{"batch-hist", "BEGIN, lock, INSERT, history, COMMIT (no event, no notify)", batch(true, true, true, false, false)},
		{"batch-lock", "BEGIN, lock, INSERT, COMMIT", batch(true, true, false, false, false)},
		{"batch-tx", "BEGIN, INSERT, COMMIT", batch(true, false, false, false, false)},
		{"cte", "batch as one autocommit statement: the INSERTs as data-modifying CTEs, SELECT pg_notify", func(ctx context.Context, id int64) error {
			x, err := c.car(id)
			if err != nil {
				return err
			}
			_, err = c.s.pool.Exec(ctx, cte, append(cteArgs(x, id), c.s.eventChannel())...)
			return err
		}},
		{"cte-quiet", "cte without the notify", func(ctx context.Context, id int64) error {
			x, err := c.car(id)
			if err != nil {
				return err
			}
			_, err = c.s.pool.Exec(ctx, cteQuiet, cteArgs(x, id)...)
			return err
		}},
		{"cte-late", "cte-quiet between BEGIN and COMMIT, then the notify as in batch-late, in the same round trip", func(ctx context.Context, id int64) error {
			x, err := c.car(id)
			if err != nil {
				return err
			}
			// Not the CTE alone: without a COMMIT of its own it would share the
			// notify's implicit transaction, and its asynchronous commit.
			b := &pgx.Batch{}
			b.Queue("BEGIN")
			b.Queue(cteQuiet, cteArgs(x, id)...)
			b.Queue("COMMIT")
			b.Queue(`SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, '')`, c.s.eventChannel())
			return c.s.pool.SendBatch(ctx, b).Close()
		}},
	}
}

// ceilingResult is one measured run of a variant.
type ceilingResult struct {
	rate      float64        // creates per second
	backendUS float64        // CPU of the pool's backends per create, µs
	auxUS     float64        // CPU of walwriter, background writer and checkpointer per create, µs
	clientUS  float64        // CPU of this process per create, µs
	walBytes  float64        // WAL inserted per create (server-wide)
	waits     map[string]int // wait_event samples of the backends ("CPU" when none)
	note      string
}

// run runs v from ceilingWorkers goroutines: 1 s of warm-up, then dur measured.
func (c *ceiling) run(mon *pgx.Conn, v ceilingVariant, dur time.Duration) (ceilingResult, error) {
	var res ceilingResult
	pids, err := c.backends()
	if err != nil {
		return res, err
	}
	aux := auxPIDs()
	// The workers stop after the create they are making: a cancelled one would make
	// pgx close its connection, and the next run would start on a new backend.
	var done atomic.Int64
	var stopped atomic.Bool
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	for range ceilingWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stopped.Load() {
				if err := v.create(ctx, c.next.Add(1)); err != nil {
					errOnce.Do(func() { firstErr = err })
					stopped.Store(true)
					return
				}
				done.Add(1)
			}
		}()
	}
	stop := func() error {
		stopped.Store(true)
		wg.Wait()
		return firstErr
	}
	time.Sleep(time.Second)
	lsn0, err := walInsert(mon)
	if err != nil {
		return res, errors.Join(err, stop())
	}
	n0, b0, a0, c0, t0 := done.Load(), ticks(pids), ticks(aux), selfCPU(), time.Now()
	// Sample the backends' waits until the window ends.
	res.waits = map[string]int{}
	end := t0.Add(dur)
	for time.Now().Before(end) && !stopped.Load() {
		rows, err := mon.Query(ctx, `SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') FROM pg_stat_activity WHERE pid = ANY($1)`, pids)
		if err != nil {
			return res, errors.Join(err, stop())
		}
		for rows.Next() {
			var w string
			if err := rows.Scan(&w); err != nil {
				rows.Close()
				return res, errors.Join(err, stop())
			}
			res.waits[w]++
		}
		rows.Close()
		time.Sleep(20 * time.Millisecond)
	}
	n1, b1, a1, c1, t1 := done.Load(), ticks(pids), ticks(aux), selfCPU(), time.Now()
	lsn1, err := walInsert(mon)
	if err := errors.Join(err, stop()); err != nil {
		return res, err
	}
	after, err := c.backends()
	if err != nil {
		return res, err
	}
	if !slices.Equal(pids, after) {
		res.note = "  (a backend changed: CPU too low)"
	}
	creates := float64(n1 - n0)
	if creates == 0 {
		return res, fmt.Errorf("no create in %s", dur)
	}
	perTick := 1e6 / clockTicks / creates
	res.rate = creates / t1.Sub(t0).Seconds()
	res.backendUS = float64(b1-b0) * perTick
	res.auxUS = float64(a1-a0) * perTick
	res.clientUS = float64(c1-c0) / float64(time.Microsecond) / creates
	res.walBytes = float64(lsn1-lsn0) / creates
	return res, nil
}

// backends returns the pids of the pool's backends, sorted: it holds every
// connection of the pool at once (opening those missing) and asks each.
func (c *ceiling) backends() ([]int32, error) {
	var pids []int32
	for range ceilingConns {
		conn, err := c.s.pool.Acquire(ctx)
		if err != nil {
			return nil, err
		}
		defer conn.Release()
		var pid int32
		if err := conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
			return nil, err
		}
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	return pids, nil
}

// auxPIDs are PostgreSQL's processes that write WAL and pages for the backends.
func auxPIDs() []int32 {
	var pids []int32
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil || !strings.HasPrefix(string(b), "postgres: ") {
			continue
		}
		cmd := string(b)
		if strings.Contains(cmd, "walwriter") || strings.Contains(cmd, "background writer") || strings.Contains(cmd, "checkpointer") {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			pids = append(pids, int32(pid))
		}
	}
	return pids
}

// ticks is the user+system CPU time of the processes, in clock ticks.
func ticks(pids []int32) int64 {
	var sum int64
	for _, pid := range pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/stat")
		if err != nil {
			continue
		}
		// The fields after the command's closing parenthesis: state is the first,
		// utime the 12th, stime the 13th (fields 14 and 15 of proc(5)).
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			s, _ := strconv.ParseInt(f[12], 10, 64)
			sum += u + s
		}
	}
	return sum
}

// selfCPU is the user+system CPU time of this process.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// walInsert is the server's WAL insert position, in bytes.
func walInsert(conn *pgx.Conn) (int64, error) {
	var n int64
	err := conn.QueryRow(ctx, `SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint`).Scan(&n)
	return n, err
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func ceilingColumn(rs []ceilingResult, f func(ceilingResult) float64) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// spread is "median [min–max]".
func spread(xs []float64, format string) string {
	if len(xs) == 0 {
		return "-"
	}
	return fmt.Sprintf(format+" ["+format+"–"+format+"]", median(xs), slices.Min(xs), slices.Max(xs))
}

// topWaits are the three commonest wait samples over the runs, as shares.
func topWaits(rs []ceilingResult) string {
	all := map[string]int{}
	total := 0
	for _, r := range rs {
		for w, n := range r.waits {
			all[w] += n
			total += n
		}
	}
	names := make([]string, 0, len(all))
	for w := range all {
		names = append(names, w)
	}
	sort.Slice(names, func(i, j int) bool { return all[names[i]] > all[names[j]] })
	var parts []string
	for _, w := range names[:min(3, len(names))] {
		parts = append(parts, fmt.Sprintf("%s %.0f%%", w, 100*float64(all[w])/float64(total)))
	}
	return strings.Join(parts, ", ")
}

func envInt(tb testing.TB, name string, def int) int {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("%s=%s: want a positive integer", name, v)
	}
	return n
}

func envDuration(tb testing.TB, name string, def time.Duration) time.Duration {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		tb.Fatalf("%s=%s: want a positive duration", name, v)
	}
	return d
}
