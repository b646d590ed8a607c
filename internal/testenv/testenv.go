// Package testenv finds the services that restkit's tests of PostgreSQL, Redis and
// S3 need, and says which suites it skipped. It is for tests only.
//
// Each service is named by a variable; when it is unset, a default is tried:
//
//	RESTKIT_TEST_POSTGRES  postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//	                       (database postgres when there is no database test)
//	RESTKIT_TEST_REDIS     redis://127.0.0.1:6379/0
//	RESTKIT_TEST_S3        a versitygw (an S3 gateway in Go) that the test binary
//	                       starts on a free loopback port over a temporary directory,
//	                       installing it first if need be (once per machine)
//
// The defaults are used when they answer within a few seconds; a variable's value is
// used as it is (tests then fail, not skip, when it does not answer), and the value
// "off" skips the suite. Postgres, Redis and S3 return the URL or skip the test.
//
// A skip is invisible without -v, and go test ./... shows nothing of a package that
// passes but its "ok" line. So a TestMain calls Main (or Run), which, after the
// tests, writes one line per service whose tests were skipped, where it is seen:
//
//	postgres: skipped 42 tests: no PostgreSQL at 127.0.0.1:5432: … (set RESTKIT_TEST_POSTGRES)
//
// (see notice). A package whose result go test took from its cache ran nothing and
// prints nothing: go test -count=1 runs it again.
package testenv

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"
)

// The defaults tried when the variables are unset.
const (
	DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	DefaultRedis    = "redis://127.0.0.1:6379/0"
)

// probeTimeout bounds the look for a default server: enough for a loaded machine to
// answer on loopback, short enough not to hold up a machine that has none.
const probeTimeout = 5 * time.Second

// service is one thing tests need, found once per test binary.
type service struct {
	name, env string
	find      func() (url, why string)

	once    sync.Once
	url     string
	why     string // why there is no url
	skipped atomic.Int64
}

var (
	postgresService = &service{name: "PostgreSQL", env: "RESTKIT_TEST_POSTGRES", find: findPostgres}
	redisService    = &service{name: "Redis", env: "RESTKIT_TEST_REDIS", find: findRedis}
	s3Service       = &service{name: "S3", env: "RESTKIT_TEST_S3", find: findS3}
	services        = []*service{postgresService, redisService, s3Service}
)

// Postgres returns the URL of the PostgreSQL database for tests, or skips tb.
func Postgres(tb testing.TB) string { tb.Helper(); return postgresService.get(tb) }

// Redis returns the URL of the Redis server for tests, or skips tb.
func Redis(tb testing.TB) string { tb.Helper(); return redisService.get(tb) }

// S3 returns the s3:// URL (restkit's form, see s3blob.ParseURL) of the S3 server and
// bucket for tests, or skips tb. Tests sharing it keep apart by prefixes of their own.
func S3(tb testing.TB) string { tb.Helper(); return s3Service.get(tb) }

// reason says why the tests of s skip.
func (s *service) reason() string {
	if strings.HasPrefix(s.why, s.env) {
		return s.why
	}
	return fmt.Sprintf("%s (set %s)", s.why, s.env)
}

func (s *service) get(tb testing.TB) string {
	tb.Helper()
	s.once.Do(func() {
		v := os.Getenv(s.env)
		switch v {
		case "":
			s.url, s.why = s.find()
		case "off":
			s.why = s.env + " is off"
		default:
			s.url = v
		}
	})
	if s.url == "" {
		s.skipped.Add(1)
		tb.Skip(s.reason())
	}
	return s.url
}

// An Option tells Main what a package's tests need before they start.
type Option int

// InstallS3 installs versitygw before the tests, when RESTKIT_TEST_S3 is unset and it
// is not installed yet (see S3): a first install takes minutes, which would count
// against go test's -timeout (10 minutes by default) if a test waited for it.
const InstallS3 Option = 1

// Main runs the tests, reports the suites skipped, stops what it started, and exits.
func Main(m *testing.M, opts ...Option) { os.Exit(Run(m, opts...)) }

// Run is Main without the exit, for a TestMain with work of its own to do after.
func Run(m *testing.M, opts ...Option) int {
	if !flag.Parsed() {
		flag.Parse() // for testing.Verbose, before m.Run
	}
	if slices.Contains(opts, InstallS3) && os.Getenv(s3Service.env) == "" {
		if _, err := versityGW(); err != nil {
			installErr = err // S3 reports it when a test asks
		}
	}
	code := m.Run()
	for _, line := range skipReport(suiteName(), services) {
		notice("%s", line)
	}
	stopS3()
	return code
}

// skipReport is one line per service whose tests were skipped.
func skipReport(suite string, services []*service) []string {
	var lines []string
	for _, s := range services {
		if n := s.skipped.Load(); n > 0 {
			tests := "tests"
			if n == 1 {
				tests = "test"
			}
			lines = append(lines, fmt.Sprintf("%s: skipped %d %s: %s", suite, n, tests, s.reason()))
		}
	}
	return lines
}

func findPostgres() (string, string) {
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	url := DefaultPostgres
	err := pingPostgres(ctx, url)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "3D000" { // invalid_catalog_name: no database test
		url = strings.Replace(DefaultPostgres, "/test?", "/postgres?", 1)
		err = pingPostgres(ctx, url)
	}
	if err != nil {
		return "", "no PostgreSQL at 127.0.0.1:5432: " + brief(err)
	}
	return url, ""
}

func pingPostgres(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx)
}

func findRedis() (string, string) {
	opt, err := redis.ParseURL(DefaultRedis)
	if err != nil {
		return "", err.Error()
	}
	opt.DialTimeout, opt.MaxRetries = probeTimeout, -1
	c := redis.NewClient(opt)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		return "", "no Redis at 127.0.0.1:6379: " + brief(err)
	}
	return DefaultRedis, ""
}

// brief is the last part of an error's text (drivers put the cause last), on one line.
func brief(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 160 {
		s = "…" + s[len(s)-160:]
	}
	return s
}

// notice writes one line where the person running the tests sees it. go test shows
// a passing package's output only with -v: in package list mode (go test ./...) it
// keeps nothing but the "ok" line. So, without -v, the line goes to the standard
// error of the go command that runs this test binary (its parent), through
// /proc/PPID/fd/2 on Linux; with -v, when the parent is not the go command, or where
// that cannot be opened, to this process's standard error.
func notice(format string, args ...any) {
	line := fmt.Sprintf(format, args...) + "\n"
	if !testing.Verbose() {
		ppid := os.Getppid()
		if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", ppid)); err == nil && strings.TrimSpace(string(comm)) == "go" {
			if f, err := os.OpenFile(fmt.Sprintf("/proc/%d/fd/2", ppid), os.O_WRONLY|os.O_APPEND, 0); err == nil {
				_, err = f.WriteString(line)
				f.Close()
				if err == nil {
					return
				}
			}
		}
	}
	os.Stderr.WriteString(line)
}
