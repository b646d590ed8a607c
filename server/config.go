package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/restkit/restkit/config"
)

// Config is everything a Server needs. API is required; every other field has a
// default (see the constants below), applied by New.
type Config struct {
	// API is the declaration to serve: config.Parse of a file, config.Demo parsed, or
	// a config.Config built in Go around a restkit.Schema (New prepares the Schema if
	// it is not prepared yet). Its Server section is not read here: the caller decides
	// how it combines with flags and the environment.
	API *config.Config
	// ConfigPath names where API came from, for logs and for Reload ("" for a
	// declaration in Go, or the built-in demo).
	ConfigPath string
	// Source is the text API was parsed from: its sha256 is what /_admin/config shows,
	// so that an operator can tell which file each node serves. Nil for a declaration
	// in Go.
	Source []byte
	// Reread returns the config's text again for Reload. Nil: Reload reads ConfigPath,
	// and a server with neither cannot reload (its declaration was made in Go).
	Reread func() ([]byte, error)
	// Watch reloads the config whenever its text changes (checked every second).
	Watch bool
	// ReloadsOnHangup says the process calls Reload on SIGHUP (restkit serve does). It
	// is recorded in DATA/lock, so that restkit reload signals only a process that
	// reloads: to any other, SIGHUP would be the end.
	ReloadsOnHangup bool

	Addr     string        // listen address; default 127.0.0.1:8080
	Listener net.Listener  // when set, Run serves on it and Addr is only reported
	Data     string        // the data directory; default ./restkit-data
	Logger   *slog.Logger  // nil: discard
	Debug    bool          // log every request and decision
	Drain    time.Duration // how long Run lets requests in flight finish when its context ends; default 30s

	// InsecurePublic allows a non-loopback address while the declaration has no auth:
	// section; without it New refuses such an address (anyone who can reach it could
	// read and change everything).
	InsecurePublic bool
	// ReadHeaderTimeout bounds the headers of a request (a slowloris on the headers);
	// default 10s.
	ReadHeaderTimeout time.Duration
	// MinUploadRate (bytes per second; 0: off) is what a request body must average once
	// UploadGrace (default 10s) has passed: a slowloris on the body, a stalled upload.
	MinUploadRate int64
	UploadGrace   time.Duration
	// TLSCert and TLSKey (PEM files), both or neither, serve HTTPS (and HTTP/2).
	TLSCert, TLSKey string

	// Postgres, S3 and Redis are the URLs of the shared services of scale-out mode;
	// empty: SQLite, files under Data and in-process rate limits.
	Postgres, S3, Redis      string
	PostgresMaxConns         int           // 0: the pool's default, max(4, CPUs)
	PostgresStatementTimeout time.Duration // default 30s
	// RedisFailClosed refuses rate-limited requests (503) while Redis is unreachable,
	// instead of serving them unlimited.
	RedisFailClosed bool
	// DisableUI turns the web console at /ui/ off (config: ui: false). It is on by
	// default.
	DisableUI bool
	// PruneInterval is how often the change log is pruned to the events: section's
	// keep and max; default 1m.
	PruneInterval time.Duration
}

// Defaults.
const (
	DefaultAddr              = "127.0.0.1:8080"
	DefaultData              = "./restkit-data"
	DefaultDrain             = 30 * time.Second
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultStatementTimeout  = 30 * time.Second
	DefaultMinUploadRate     = 1024 // bytes per second
	DefaultUploadGrace       = 10 * time.Second
)

// withDefaults returns c with every unset setting at its default.
func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.Listener != nil {
		c.Addr = c.Listener.Addr().String()
	}
	if c.Data == "" {
		c.Data = DefaultData
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Drain <= 0 {
		c.Drain = DefaultDrain
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.UploadGrace <= 0 {
		c.UploadGrace = DefaultUploadGrace
	}
	if c.PostgresStatementTimeout <= 0 {
		c.PostgresStatementTimeout = DefaultStatementTimeout
	}
	if c.PruneInterval <= 0 {
		c.PruneInterval = time.Minute
	}
	return c
}

// Validate reports what makes c unservable: no declaration, half a TLS pair, a
// negative rate, or a public address without authentication.
func (c Config) Validate() error {
	var errs []error
	if c.API == nil || c.API.Schema == nil {
		errs = append(errs, errors.New("no API to serve: set Config.API (config.Parse, or config.Demo parsed)"))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key (RESTKIT_TLS_CERT, RESTKIT_TLS_KEY) go together: give both to serve HTTPS, or neither for plain HTTP"))
	}
	if c.MinUploadRate < 0 {
		errs = append(errs, fmt.Errorf("the minimum upload rate must be 0 (off) or positive, not %d", c.MinUploadRate))
	}
	addr := c.Addr
	if c.Listener != nil {
		addr = c.Listener.Addr().String()
	}
	if addr == "" {
		addr = DefaultAddr
	}
	authOn := c.API != nil && c.API.Schema != nil && c.API.Schema.Auth != nil
	if !authOn && !c.InsecurePublic && !IsLoopback(addr) {
		errs = append(errs, fmt.Errorf("refusing to listen on %s: it is not a loopback address, and the config has no auth: section, "+
			"so anyone who can reach this address could read and change every record and file. "+
			"Add auth: (see \"Securing restkit\" in the README), listen on 127.0.0.1 (the default) or localhost, "+
			"or pass --insecure-public (RESTKIT_INSECURE_PUBLIC=true, or insecure_public: true under server:) to serve the open API on the network anyway", addr))
	}
	return errors.Join(errs...)
}

// IsLoopback reports whether addr (host:port) names a loopback host: 127.0.0.0/8, ::1
// or localhost. An empty host (":8080") or an unspecified one (0.0.0.0, ::) listens on
// every interface, and any other name may resolve to a public address: neither is.
func IsLoopback(addr string) bool {
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
