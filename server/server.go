package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/artefact"
	"github.com/restkit/restkit/auth"
	"github.com/restkit/restkit/config"
	"github.com/restkit/restkit/httpapi"
	"github.com/restkit/restkit/internal/datadir"
	"github.com/restkit/restkit/metrics"
	"github.com/restkit/restkit/web"
	"github.com/restkit/restkit/webhook"
)

// Server is a restkit server: its backends, its HTTP handler and its listener. Make
// one with New, serve with Run, release it with Close.
type Server struct {
	cfg      Config
	log      *slog.Logger
	dir      *datadir.Dir
	backends *backends
	metrics  *metrics.Metrics
	http     *http.Server
	repo     *artefact.Repository // nil without an artefact repository (opened once, by New)

	// front is what is served now: the handler built from the running config, and
	// what came with it. Reload builds the next one beside it and swaps (reload.go).
	front    atomic.Pointer[served]
	reloadMu sync.Mutex   // one Reload at a time
	reloads  reloadStatus // what the reloads did, for /_admin/config
	hooks    webhookRun   // the running deliveries of the front's dispatcher (webhooks.go)

	closeOnce sync.Once
	closeErr  error
}

// served is one build of the handler from one config.
type served struct {
	api        *config.Config
	handler    *httpapi.Server
	dispatcher *webhook.Dispatcher // nil without webhook endpoints
	sum        string              // the sha256 of the config's source, hex
	loaded     time.Time
}

// current is what is served now.
func (s *Server) current() *served { return s.front.Load() }

// New prepares everything a Server needs before its first request (see the package
// documentation for the order) and returns it ready to Run. On error whatever was
// opened is closed again, and the data directory is left as it was.
func New(cfg Config) (_ *Server, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.API.Schema.Prepared() {
		if err := cfg.API.Schema.Prepare(); err != nil {
			return nil, fmt.Errorf("the declaration: %w", err)
		}
	}
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, log: cfg.Logger}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	// The lock comes before anything else touches the directory: start-up cleans
	// tmp/ and collects blobs, which would destroy a live server's uploads.
	if s.dir, err = datadir.Open(cfg.Data); err != nil {
		return nil, err
	}
	if cfg.ReloadsOnHangup {
		_ = s.dir.MarkReloadable() // information for restkit reload, like the pid
	}
	ctx := context.Background()
	s.metrics = metrics.New()
	if s.backends, err = openBackends(ctx, &cfg, s.log, func(error) { s.metrics.LimiterError() }); err != nil {
		return nil, err
	}
	if err := s.openRepository(ctx); err != nil {
		return nil, err
	}
	first, err := s.build(ctx, cfg.API, cfg.Source)
	if err != nil {
		return nil, err
	}
	s.front.Store(first)
	tlsConfig, err := s.tlsConfig()
	if err != nil {
		return nil, err
	}
	s.http = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		TLSConfig:         tlsConfig, // ServeTLS adds h2 to its protocols: HTTP/2 on TLS
	}
	// A drain ends the event streams first: they would otherwise hold Shutdown for
	// the whole drain time. Their clients reconnect, to another node or to this one
	// restarted, and resume from their last id.
	s.http.RegisterOnShutdown(func() { s.current().handler.Close() })
	return s, nil
}

// build migrates the store to api's declaration and builds the handler that serves
// it, with the capabilities' stored states applied (New, and Reload for the next
// config). Nothing is served from it until the caller stores it in front.
func (s *Server) build(ctx context.Context, api *config.Config, source []byte) (*served, error) {
	if err := s.backends.store.Migrate(ctx, api.Schema); err != nil {
		return nil, fmt.Errorf("preparing the database: %w", err)
	}
	if _, err := s.loadCapabilities(ctx, api.Schema); err != nil {
		return nil, err
	}
	sv := &served{api: api, sum: sourceSum(source), loaded: time.Now().UTC()}
	opts, err := s.handlerOptions(ctx, sv)
	if err != nil {
		return nil, err
	}
	// The console calls the handler it is mounted in, which exists only once it is
	// made: h is set right below, before any request can come.
	var h http.Handler
	if !s.cfg.DisableUI && !api.DisableUI {
		if opts.Console, err = web.New(web.Options{API: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }),
			Schema: api.Schema, Auth: opts.Auth, Artefacts: opts.ArtefactsPath, Logger: s.log, Capabilities: true,
			Events: isEventLog(s.backends.store), Uploads: uploadsPath(opts)}); err != nil {
			return nil, err
		}
	}
	if sv.handler, err = httpapi.New(opts); err != nil {
		return nil, err
	}
	h = sv.handler
	return sv, nil
}

func isEventLog(st restkit.Store) bool { _, ok := st.(restkit.EventLog); return ok }

// uploadsPath is the tus endpoint the console sends big files to, when artefacts are served.
func uploadsPath(opts httpapi.Options) string {
	if opts.Artefacts == nil {
		return ""
	}
	return httpapi.UploadsPath
}

// openRepository opens the artefact repository, when the config has one, and
// collects what a crash may have left. It is opened once: a reload keeps it.
func (s *Server) openRepository(ctx context.Context) error {
	cfg, b := &s.cfg, s.backends
	if cfg.API.Artefacts == nil {
		return nil
	}
	if b.shared && cfg.S3 == "" {
		s.log.Warn("--postgres without --s3: artefact content is kept on this node's disk, so other nodes cannot serve it")
	}
	var err error
	if b.id, err = b.storeID(ctx, cfg.Data); err != nil {
		return err
	}
	blobs, err := b.blobs(ctx)
	if err != nil {
		return err
	}
	s.repo, err = openArtefacts(ctx, cfg.Data, blobs, b.store, cfg.API.Artefacts, s.log, cfg.S3 == "", s.metrics)
	return err
}

// handlerOptions prepares what the HTTP handler of sv's config serves: keys,
// authentication, the artefact repository, webhooks and the operations routes.
func (s *Server) handlerOptions(ctx context.Context, sv *served) (httpapi.Options, error) {
	cfg, b, api := &s.cfg, s.backends, sv.api
	key, err := b.cursorKey(ctx, cfg.Data)
	if err != nil {
		return httpapi.Options{}, err
	}
	authority, err := auth.New(api.Schema, api.ArtefactAccess())
	if err != nil {
		return httpapi.Options{}, fmt.Errorf("preparing authentication: %w", err)
	}
	if api.Schema.Auth != nil {
		if !IsLoopback(cfg.Addr) && cfg.TLSCert == "" {
			s.log.Warn("passwords and API keys will cross the network in clear text: serve HTTPS (--tls-cert, --tls-key) or put a TLS-terminating proxy in front", "addr", cfg.Addr)
		}
		for _, w := range auth.Warnings(api.Schema, api.ArtefactAccess()) {
			s.log.Warn("auth: " + w)
		}
	}
	opts := httpapi.Options{Schema: api.Schema, Store: b.store, Logger: s.log, Debug: cfg.Debug, CursorKey: key,
		MinBodyRate: cfg.MinUploadRate, BodyGrace: cfg.UploadGrace, TrustedProxies: api.TrustedProxies, Auth: authority,
		Limiter: b.limiter, Metrics: s.metrics, Events: httpapi.EventsOptions{Heartbeat: api.Events.Heartbeat}, ConfigSum: sv.sum}
	if cc := api.Server.CORS; cc != nil {
		opts.CORS = &httpapi.CORS{Origins: cc.Origins, Methods: cc.Methods, Headers: cc.Headers, MaxAge: cc.MaxAge}
	}
	if s.repo != nil && api.Artefacts != nil {
		opts.Artefacts, opts.ArtefactsPath = s.repo, s.cfg.API.Artefacts.Path // the path is the first config's: a reload keeps the repository
		opts.ArtefactsCapability = api.Artefacts.Capability
	}
	if api.Schema.Auth != nil {
		if opts.SessionKey, err = b.sessionKey(ctx, cfg.Data); err != nil {
			return httpapi.Options{}, err
		}
	}
	opts.Ready = b.ready
	if cur := s.current(); cur != nil {
		opts.Previous = cur.handler // a reload: what the node remembers carries over
	}
	if sv.dispatcher, err = s.webhooks(ctx, api, &opts); err != nil {
		return httpapi.Options{}, err
	}
	opts.Backup = backupFunc(cfg) // backup.go
	opts.Admin = append(opts.Admin, s.adminRoutes()...)
	return opts, nil
}

func (s *Server) tlsConfig() (*tls.Config, error) {
	if s.cfg.TLSCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("loading the TLS certificate %s and key %s: %w", s.cfg.TLSCert, s.cfg.TLSKey, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// Handler is the server's HTTP handler, for a program that runs its own http.Server
// (then Run is not called; Close still is). It serves what is current: after a
// Reload, new requests go to the new config's handler.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.current().handler.ServeHTTP(w, r) })
}

// Routes lists the routes the server answers and the access rule of each.
func (s *Server) Routes() []httpapi.Route { return s.current().handler.Routes() }

// Run listens on Config.Addr (or serves Config.Listener) and serves until ctx ends;
// then it drains: it stops accepting, lets requests in flight finish for up to
// Config.Drain, and closes the connections still busy (an operator's SIGTERM must end
// the process). It returns nil after a drain, or the error that stopped it serving.
func (s *Server) Run(ctx context.Context) error {
	ln := s.cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.cfg.Addr); err != nil {
			return fmt.Errorf("listening: %w", err)
		}
	}
	scheme := "http"
	if s.http.TLSConfig != nil {
		scheme = "https"
	}
	s.log.Info("restkit serving", "addr", ln.Addr().String(), "scheme", scheme, "data", s.cfg.Data, "config", s.configName())

	pruned := s.startPruning(ctx)
	defer pruned()
	switched := s.followCapabilities(ctx) // the states another node or restkit capability sets
	defer switched()
	watched := s.watch(ctx)
	defer watched()
	s.hooks.start(func() *webhook.Dispatcher { return s.current().dispatcher })
	defer s.hooks.stop() // after the drain, so that deliveries go on while requests finish
	if s.repo != nil {
		// The cleanup policies and the collection of expired uploads, on a schedule.
		tick := time.NewTicker(s.repo.CleanupInterval())
		defer tick.Stop()
		go s.repo.RunCleanups(ctx, tick.C)
	}
	errc := make(chan error, 1)
	go func() {
		if s.http.TLSConfig != nil {
			errc <- s.http.ServeTLS(ln, "", "") // the certificate is in TLSConfig
			return
		}
		errc <- s.http.Serve(ln)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("restkit shutting down", "drain", s.cfg.Drain.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.Drain)
	defer cancel()
	if err := s.http.Shutdown(sctx); err != nil {
		s.log.Warn("requests still running after the drain time; closing their connections", "error", err.Error())
		_ = s.http.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	s.log.Info("restkit stopped")
	return nil
}

// Close closes the backends and releases the data directory. Call it after Run has
// returned; it may be called more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if sv := s.current(); sv != nil {
			sv.handler.Close()
		}
		if s.backends != nil {
			s.backends.Close()
		}
		s.closeErr = s.dir.Close()
	})
	return s.closeErr
}

// openArtefacts opens the repository over its blob and metadata stores and collects
// what a crash may have left (staged uploads, blobs no version references) before
// serving.
func openArtefacts(ctx context.Context, data string, blobs restkit.BlobStore, meta restkit.ArtefactStore, cfg *config.Artefacts, log *slog.Logger, localDisk bool, m *metrics.Metrics) (*artefact.Repository, error) {
	o := artefact.Options{Blobs: blobs, Meta: meta, Policy: cfg.Policy, Logger: log, OnCleanup: func(rep *artefact.CleanupReport) {
		outcome := "ok"
		switch {
		case rep.Skipped:
			outcome = "skipped"
		case rep.Err != nil:
			outcome = "failed"
		}
		m.CleanupRun(outcome, rep.DryRun, len(rep.Versions), rep.BytesFreed)
	}}
	if l, ok := meta.(artefact.DigestLocker); ok {
		o.Locker = l // nodes sharing the store lock digests through it
	}
	if l, ok := meta.(artefact.JobLocker); ok {
		o.Jobs = l // one node at a time runs the cleanup policies
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
	if n, err := repo.SweepUploads(ctx); err != nil {
		return nil, fmt.Errorf("collecting expired uploads: %w", err)
	} else if n > 0 {
		log.Info("collected expired resumable uploads", "count", n)
	}
	return repo, nil
}
