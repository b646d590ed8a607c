package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/artefact"
	"github.com/restkit/restkit/auth"
	"github.com/restkit/restkit/config"
	"github.com/restkit/restkit/httpapi"
	"github.com/restkit/restkit/internal/datadir"
	"github.com/restkit/restkit/metrics"
)

// serveConfig is everything serve needs, resolved from flags, env, file and defaults.
type serveConfig struct {
	Addr        string
	Data        string
	ConfigPath  string
	Debug       bool
	LogFormat   string
	PrintConfig bool
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

// Defaults.
const (
	defaultAddr      = "127.0.0.1:8080"
	defaultData      = "./restkit-data"
	defaultLogFormat = "text"
	defaultDrain     = 30 * time.Second

	defaultReadHeaderTimeout = 10 * time.Second
	defaultStatementTimeout  = 30 * time.Second // postgres.DefaultStatementTimeout
	defaultMinUploadRate     = "1KiB"
	defaultUploadGrace       = 10 * time.Second
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
func (c *serveConfig) resolve(cmd *cobra.Command, file config.Server, authOn bool) error {
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
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key (RESTKIT_TLS_CERT, RESTKIT_TLS_KEY) go together: give both to serve HTTPS, or neither for plain HTTP")
	}
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
	if !authOn && !c.InsecurePublic && !isLoopback(c.Addr) {
		return fmt.Errorf("refusing to listen on %s: it is not a loopback address, and the config has no auth: section, "+
			"so anyone who can reach this address could read and change every record and file. "+
			"Add auth: (see \"Securing restkit\" in the README), listen on 127.0.0.1 (the default) or localhost, "+
			"or pass --insecure-public (RESTKIT_INSECURE_PUBLIC=true, or insecure_public: true under server:) to serve the open API on the network anyway", c.Addr)
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

// isLoopback reports whether addr (host:port) names a loopback host: 127.0.0.0/8, ::1
// or localhost. An empty host (":8080") or an unspecified one (0.0.0.0, ::) listens on
// every interface, and any other name may resolve to a public address: neither is.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
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

func newLogger(c *serveConfig) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if c.Debug {
		opts.Level = slog.LevelDebug
	}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
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
	if err := c.resolve(cmd, cfg.Server, cfg.Schema.Auth != nil); err != nil {
		return err
	}
	log := newLogger(c)

	// The lock comes before anything else touches the directory: start-up cleans
	// tmp/ and collects blobs, which would destroy a live server's uploads.
	dir, err := datadir.Open(c.Data)
	if err != nil {
		return err
	}
	defer dir.Close()
	ctx := cmd.Context()
	m := metrics.New()
	b, err := openBackends(ctx, c, log, func(error) { m.LimiterError() })
	if err != nil {
		return err
	}
	defer b.Close()
	store := b.store
	if err := store.Migrate(ctx, cfg.Schema); err != nil {
		return fmt.Errorf("preparing the database: %w", err)
	}
	key, err := b.cursorKey(ctx, c.Data)
	if err != nil {
		return err
	}
	if b.shared && c.S3 == "" && cfg.Artefacts != nil {
		log.Warn("--postgres without --s3: artefact content is kept on this node's disk, so other nodes cannot serve it")
	}

	authority, err := newAuthority(cfg)
	if err != nil {
		return err
	}
	if a := cfg.Schema.Auth; a != nil {
		if !isLoopback(c.Addr) && c.TLSCert == "" {
			log.Warn("passwords and API keys will cross the network in clear text: serve HTTPS (--tls-cert, --tls-key) or put a TLS-terminating proxy in front", "addr", c.Addr)
		}
		arts := artefactRules(cfg)
		for _, w := range auth.Warnings(cfg.Schema, arts) {
			log.Warn("auth: " + w)
		}
	}
	opts := httpapi.Options{Schema: cfg.Schema, Store: store, Logger: log, Debug: c.Debug, CursorKey: key,
		MinBodyRate: c.minUploadRate, BodyGrace: c.UploadGrace, TrustedProxies: cfg.TrustedProxies, Auth: authority,
		Limiter: b.limiter, Metrics: m}
	if cc := cfg.Server.CORS; cc != nil {
		opts.CORS = &httpapi.CORS{Origins: cc.Origins, Methods: cc.Methods, Headers: cc.Headers, MaxAge: cc.MaxAge}
	}
	if cfg.Artefacts != nil {
		if b.id, err = b.storeID(ctx, c.Data); err != nil {
			return err
		}
		blobs, err := b.blobs(ctx)
		if err != nil {
			return err
		}
		repo, err := openArtefacts(ctx, c.Data, blobs, store, cfg.Artefacts, log, c.S3 == "")
		if err != nil {
			return err
		}
		opts.Artefacts, opts.ArtefactsPath = repo, cfg.Artefacts.Path
	}
	opts.Ready = b.ready
	var tlsConfig *tls.Config
	if c.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return fmt.Errorf("loading the TLS certificate %s and key %s: %w", c.TLSCert, c.TLSKey, err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	handler := httpapi.New(opts)
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		TLSConfig:         tlsConfig, // ServeTLS adds h2 to its protocols: HTTP/2 on TLS
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	log.Info("restkit serving", "addr", ln.Addr().String(), "scheme", scheme, "data", c.Data, "config", configName(c.ConfigPath))

	errc := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			errc <- srv.ServeTLS(ln, "", "") // the certificate is in TLSConfig
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	// Stop accepting, let in-flight requests finish, then close the store (deferred).
	// A request still running after the drain time (a stalled upload, say) has its
	// connection closed: an operator's SIGTERM must end the process.
	log.Info("restkit shutting down", "drain", c.Drain.String())
	sctx, cancel := context.WithTimeout(context.Background(), c.Drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("requests still running after the drain time; closing their connections", "error", err.Error())
		_ = srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("restkit stopped")
	return nil
}

// artefactRules are the access rules of a config's repository (nil without one).
func artefactRules(cfg *config.Config) *auth.Artefacts {
	if cfg.Artefacts == nil {
		return nil
	}
	return &cfg.Artefacts.Access
}

// newAuthority builds the authenticator of a config: nil when it has no auth: section.
func newAuthority(cfg *config.Config) (*auth.Authority, error) {
	arts := artefactRules(cfg)
	a, err := auth.New(cfg.Schema, arts)
	if err != nil {
		return nil, fmt.Errorf("preparing authentication: %w", err)
	}
	return a, nil
}

// openArtefacts opens the blob store under the data directory and collects what a
// crash may have left (staged uploads, blobs no version references) before serving.
func openArtefacts(ctx context.Context, data string, blobs restkit.BlobStore, meta restkit.ArtefactStore, cfg *config.Artefacts, log *slog.Logger, localDisk bool) (*artefact.Repository, error) {
	o := artefact.Options{Blobs: blobs, Meta: meta, Policy: cfg.Policy, Logger: log}
	if l, ok := meta.(artefact.DigestLocker); ok {
		o.Locker = l // nodes sharing the store lock digests through it
	}
	if localDisk {
		o.DataDir = data // min_free measures the disk the blobs are on
	}
	repo := artefact.New(o)
	n, err := repo.Collect(ctx)
	if err != nil {
		return nil, fmt.Errorf("collecting unreferenced blobs: %w", err)
	}
	if n > 0 {
		log.Info("collected unreferenced blobs", "count", n)
	}
	return repo, nil
}

func configName(path string) string {
	if path == "" {
		return "built-in demo"
	}
	return path
}

// cursorKey is the key that signs paging cursors: kept in PostgreSQL when the store
// is shared (every node must accept the cursors of the others), else in the data
// directory; made on first start either way, so cursors stay valid across restarts.
func (b *backends) cursorKey(ctx context.Context, dir string) ([]byte, error) {
	if s, ok := b.store.(interface {
		Secret(ctx context.Context, name string, size int) ([]byte, error)
	}); ok && b.shared {
		key, err := s.Secret(ctx, "cursor-key", 32)
		if err != nil {
			return nil, fmt.Errorf("reading the shared cursor key: %w", err)
		}
		return key, nil
	}
	return cursorKey(dir)
}

// cursorKey loads the key that signs paging cursors from the data directory, making
// it on first start, so cursors stay valid across restarts.
func cursorKey(dir string) ([]byte, error) {
	key, err := keyFile(dir, "cursor.key", 32)
	if err != nil {
		return nil, fmt.Errorf("the cursor key: %w", err)
	}
	return key, nil
}

// keyFile reads size random bytes kept in dir/name, making them on first use.
func keyFile(dir, name string, size int) ([]byte, error) {
	path := filepath.Join(dir, name)
	key, err := os.ReadFile(path)
	if err == nil && len(key) == size {
		return key, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	key = make([]byte, size)
	_, _ = rand.Read(key)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, key, 0o600); err != nil {
		return nil, fmt.Errorf("writing %s: %w", name, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("writing %s: %w", name, err)
	}
	return key, nil
}
