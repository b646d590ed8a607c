package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/restkit/restkit/config"
	"github.com/restkit/restkit/internal/gcfloor"
	"github.com/restkit/restkit/internal/logbuf"
	"github.com/restkit/restkit/server"
)

// serveConfig is everything serve needs, resolved from flags, env, file and defaults.
type serveConfig struct {
	Addr        string
	Data        string
	ConfigPath  string
	Debug       bool
	LogFormat   string
	PrintConfig bool
	Watch       bool          // reload when the config file changes
	Drain       time.Duration // how long SIGTERM waits for requests in flight
	// InsecurePublic allows a non-loopback address while authentication is not configured.
	InsecurePublic bool
	// ReadHeaderTimeout bounds the headers of a request (a slowloris on the headers).
	ReadHeaderTimeout time.Duration
	// MinUploadRate (bytes per second, 0: off) is what a request body must average
	// once UploadGrace has passed (a slowloris on the body, a stalled upload).
	MinUploadRate string
	minUploadRate int64
	UploadGrace   time.Duration
	// TLSCert and TLSKey (PEM files), both or neither, serve HTTPS (and HTTP/2).
	TLSCert, TLSKey string
	// Postgres, S3 and Redis are the URLs of the shared services of scale-out mode;
	// empty: SQLite, files under Data, and in-process rate limits.
	Postgres, S3, Redis      string
	PostgresMaxConns         int
	PostgresStatementTimeout time.Duration
	RedisFailClosed          bool // refuse requests (503) while Redis is unreachable, instead of serving them unlimited
}

// gcFloor is the smallest heap target serve lets the collector aim at (see
// internal/gcfloor): a server whose live heap is a few MiB may hold up to about
// 32 MiB, the rest garbage waiting for the next collection.
const gcFloor = 32 << 20

// Defaults: the server's, except the log format, which only the command has.
const (
	defaultAddr      = server.DefaultAddr
	defaultData      = server.DefaultData
	defaultLogFormat = "text"
	defaultDrain     = server.DefaultDrain

	defaultReadHeaderTimeout = server.DefaultReadHeaderTimeout
	defaultStatementTimeout  = server.DefaultStatementTimeout
	defaultMinUploadRate     = "1KiB" // server.DefaultMinUploadRate, as the flag writes it
	defaultUploadGrace       = server.DefaultUploadGrace
)

func newServeCmd() *cobra.Command {
	var c serveConfig
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve an API (the built-in demo when no --config is given)",
		Long: `Serve the APIs of a configuration file, or the built-in demo.

Settings: a flag beats its environment variable (RESTKIT_ADDR, RESTKIT_DATA,
RESTKIT_CONFIG, RESTKIT_DEBUG, RESTKIT_LOG_FORMAT), which beats the config
file's server section, which beats the default.

Without an auth: section in the config, serve refuses an address that is not
loopback (127.0.0.0/8, ::1, localhost) unless --insecure-public is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd, &c)
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Addr, "addr", defaultAddr, "address to listen on (RESTKIT_ADDR)")
	f.StringVar(&c.Data, "data", defaultData, "data directory: the SQLite database and files (RESTKIT_DATA)")
	f.StringVar(&c.ConfigPath, "config", "", "configuration file; the built-in demo when empty (RESTKIT_CONFIG)")
	f.BoolVar(&c.Debug, "debug", false, "log every request and decision (RESTKIT_DEBUG)")
	f.StringVar(&c.LogFormat, "log-format", defaultLogFormat, "log format: text or json (RESTKIT_LOG_FORMAT)")
	f.BoolVar(&c.PrintConfig, "print-config", false, "print the configuration that would be served and exit")
	f.BoolVar(&c.Watch, "watch", false, "reload when the config file changes, as SIGHUP and restkit reload do (RESTKIT_WATCH)")
	f.DurationVar(&c.Drain, "shutdown-timeout", defaultDrain, "on SIGINT/SIGTERM, how long to let requests in flight finish before closing their connections")
	f.DurationVar(&c.ReadHeaderTimeout, "read-header-timeout", defaultReadHeaderTimeout, "how long a client may take to send a request's headers (RESTKIT_READ_HEADER_TIMEOUT)")
	f.StringVar(&c.MinUploadRate, "min-upload-rate", defaultMinUploadRate, "bytes per second a request body must average after --upload-grace; 0 turns the check off (RESTKIT_MIN_UPLOAD_RATE)")
	f.DurationVar(&c.UploadGrace, "upload-grace", defaultUploadGrace, "how long a request body may take before --min-upload-rate applies (RESTKIT_UPLOAD_GRACE)")
	f.StringVar(&c.TLSCert, "tls-cert", "", "serve HTTPS (and HTTP/2) with this PEM certificate chain; needs --tls-key (RESTKIT_TLS_CERT)")
	f.StringVar(&c.TLSKey, "tls-key", "", "the PEM private key of --tls-cert (RESTKIT_TLS_KEY)")
	f.StringVar(&c.Postgres, "postgres", "", "PostgreSQL URL (postgres://user:pass@host:5432/db?sslmode=…): keep records and artefact metadata there, shared by every node (RESTKIT_POSTGRES)")
	f.StringVar(&c.S3, "s3", "", "S3 URL (s3://KEY:SECRET@host:port/bucket/prefix?insecure=true&region=…): keep artefact content there, shared by every node (RESTKIT_S3)")
	f.StringVar(&c.Redis, "redis", "", "Redis URL (redis://host:6379/0): count rate limits there, shared by every node (RESTKIT_REDIS)")
	f.IntVar(&c.PostgresMaxConns, "postgres-max-conns", 0, "connections this node's PostgreSQL pool opens at most (default max(4, CPUs)); keep nodes × this under max_connections")
	f.DurationVar(&c.PostgresStatementTimeout, "postgres-statement-timeout", defaultStatementTimeout, "PostgreSQL statement_timeout of every statement")
	f.BoolVar(&c.RedisFailClosed, "redis-fail-closed", false, "while Redis is unreachable, answer rate-limited routes with 503 instead of serving them unlimited (RESTKIT_REDIS_FAIL_CLOSED)")
	f.BoolVar(&c.InsecurePublic, "insecure-public", false, "listen on a non-loopback address although the config has no auth: section (RESTKIT_INSECURE_PUBLIC)")
	return cmd
}

// resolve applies env and the config file's server section beneath the flags.
func (c *serveConfig) resolve(cmd *cobra.Command, file config.Server) error {
	set := cmd.Flags().Changed
	pick := func(dst *string, flag, env, fromFile, def string) {
		switch {
		case set(flag):
		case os.Getenv(env) != "":
			*dst = os.Getenv(env)
		case fromFile != "":
			*dst = fromFile
		default:
			*dst = def
		}
	}
	pick(&c.Addr, "addr", "RESTKIT_ADDR", file.Addr, defaultAddr)
	pick(&c.Data, "data", "RESTKIT_DATA", file.Data, defaultData)
	pick(&c.LogFormat, "log-format", "RESTKIT_LOG_FORMAT", file.LogFormat, defaultLogFormat)
	pick(&c.Postgres, "postgres", "RESTKIT_POSTGRES", "", "")
	pick(&c.S3, "s3", "RESTKIT_S3", "", "")
	pick(&c.Redis, "redis", "RESTKIT_REDIS", "", "")
	pick(&c.TLSCert, "tls-cert", "RESTKIT_TLS_CERT", file.TLSCert, "")
	pick(&c.TLSKey, "tls-key", "RESTKIT_TLS_KEY", file.TLSKey, "")
	envBool := func(dst *bool, flag, env string, fromFile bool) error {
		if set(flag) {
			return nil
		}
		switch os.Getenv(env) {
		case "1", "true", "yes":
			*dst = true
		case "", "0", "false", "no":
			*dst = fromFile
		default:
			return fmt.Errorf("%s must be true or false, not %q", env, os.Getenv(env))
		}
		return nil
	}
	if err := envBool(&c.Watch, "watch", "RESTKIT_WATCH", false); err != nil {
		return err
	}
	if err := envBool(&c.Debug, "debug", "RESTKIT_DEBUG", file.Debug); err != nil {
		return err
	}
	if err := envBool(&c.RedisFailClosed, "redis-fail-closed", "RESTKIT_REDIS_FAIL_CLOSED", false); err != nil {
		return err
	}
	if err := envBool(&c.InsecurePublic, "insecure-public", "RESTKIT_INSECURE_PUBLIC", file.InsecurePublic); err != nil {
		return err
	}
	if err := c.resolveLimits(cmd, file); err != nil {
		return err
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("--log-format must be text or json, not %q", c.LogFormat)
	}
	return nil
}

// resolveLimits applies env and the config file beneath the timing flags.
func (c *serveConfig) resolveLimits(cmd *cobra.Command, file config.Server) error {
	set := cmd.Flags().Changed
	dur := func(dst *time.Duration, flag, env string, fromFile, def time.Duration) error {
		switch {
		case set(flag):
		case os.Getenv(env) != "":
			d, err := time.ParseDuration(os.Getenv(env))
			if err != nil {
				return fmt.Errorf("%s must be a duration such as 10s, not %q", env, os.Getenv(env))
			}
			*dst = d
		case fromFile > 0:
			*dst = fromFile
		default:
			*dst = def
		}
		if *dst <= 0 {
			return fmt.Errorf("--%s must be a positive duration such as 10s, not %s", flag, *dst)
		}
		return nil
	}
	if err := dur(&c.ReadHeaderTimeout, "read-header-timeout", "RESTKIT_READ_HEADER_TIMEOUT", file.ReadHeaderTimeout, defaultReadHeaderTimeout); err != nil {
		return err
	}
	if err := dur(&c.UploadGrace, "upload-grace", "RESTKIT_UPLOAD_GRACE", file.UploadGrace, defaultUploadGrace); err != nil {
		return err
	}
	switch {
	case set("min-upload-rate"):
	case os.Getenv("RESTKIT_MIN_UPLOAD_RATE") != "":
		c.MinUploadRate = os.Getenv("RESTKIT_MIN_UPLOAD_RATE")
	case file.MinUploadRateSet:
		c.MinUploadRate = strconv.FormatInt(file.MinUploadRate, 10)
	default:
		c.MinUploadRate = defaultMinUploadRate
	}
	n, err := humanize.ParseBytes(strings.TrimSuffix(c.MinUploadRate, "/s"))
	if err != nil || n > math.MaxInt64 {
		return fmt.Errorf("--min-upload-rate must be bytes per second such as 1KiB or 0 (off), not %q", c.MinUploadRate)
	}
	c.minUploadRate = int64(n)
	return nil
}

// loadConfig reads --config (or RESTKIT_CONFIG), or the embedded demo.
func (c *serveConfig) loadConfig(cmd *cobra.Command) (*config.Config, []byte, error) {
	if !cmd.Flags().Changed("config") {
		c.ConfigPath = os.Getenv("RESTKIT_CONFIG")
	}
	if c.ConfigPath == "" {
		cfg, err := config.Parse("demo.yaml", config.Demo())
		return cfg, config.Demo(), err
	}
	data, err := os.ReadFile(c.ConfigPath)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the config: %w", err)
	}
	cfg, err := config.Parse(c.ConfigPath, data)
	return cfg, data, err
}

// newLogger is the server's log: lines are formatted and written by one goroutine
// off the request path (internal/logbuf), in order; close it after the drain so
// that the last lines are written before the process exits.
func newLogger(c *serveConfig) (*slog.Logger, *logbuf.Handler) {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if c.Debug {
		opts.Level = slog.LevelDebug
	}
	format := func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, opts) }
	if c.LogFormat == "json" {
		format = func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, opts) }
	}
	lb := logbuf.New(os.Stderr, format, logbuf.Options{})
	return slog.New(lb), lb
}

// serverConfig is what the flags, the environment and the file resolved to.
func (c *serveConfig) serverConfig(cfg *config.Config, source []byte, log *slog.Logger) server.Config {
	sc := server.Config{
		API: cfg, ConfigPath: c.ConfigPath, Source: source, Watch: c.Watch, ReloadsOnHangup: true,
		Addr: c.Addr, Data: c.Data, Logger: log, Debug: c.Debug, Drain: c.Drain,
		InsecurePublic: c.InsecurePublic, ReadHeaderTimeout: c.ReadHeaderTimeout,
		MinUploadRate: c.minUploadRate, UploadGrace: c.UploadGrace,
		TLSCert: c.TLSCert, TLSKey: c.TLSKey,
		Postgres: c.Postgres, S3: c.S3, Redis: c.Redis,
		PostgresMaxConns: c.PostgresMaxConns, PostgresStatementTimeout: c.PostgresStatementTimeout,
		RedisFailClosed: c.RedisFailClosed, DisableUI: cfg.DisableUI,
	}
	if c.ConfigPath == "" {
		sc.Reread = func() ([]byte, error) { return config.Demo(), nil } // the demo reloads as itself
	}
	return sc
}

func runServe(cmd *cobra.Command, c *serveConfig) error {
	cfg, raw, err := c.loadConfig(cmd)
	if err != nil {
		return err
	}
	if c.PrintConfig {
		_, err := cmd.OutOrStdout().Write(raw)
		return err
	}
	if err := c.resolve(cmd, cfg.Server); err != nil {
		return err
	}
	// SIGHUP reloads (it would otherwise end the process at once); it is caught
	// before New so that one sent during start-up is not fatal either.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	log, logs := newLogger(c)
	defer logs.Close() // last: after the drain's and Close's lines
	if os.Getenv("GOGC") == "" {
		// A heap target of at least gcFloor: a small live heap is collected every
		// few thousand requests, not every few hundred (internal/gcfloor). An
		// operator's GOGC takes over.
		defer gcfloor.Start(gcFloor)()
	}
	srv, err := server.New(c.serverConfig(cfg, raw, log))
	if err != nil {
		return err
	}
	defer srv.Close()
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	reloads := make(chan struct{})
	go func() {
		defer close(reloads)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				_ = srv.Reload(ctx) // Reload logs what it did, or why not
			}
		}
	}()
	err = srv.Run(ctx)
	cancel()
	<-reloads
	return err
}
