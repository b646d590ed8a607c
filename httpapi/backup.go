package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
)

// BackupPath is where an admin downloads a backup of the server's data directory
// (Options.Backup): restkit backup --server URL reads it.
const BackupPath = "/_admin/backup"

// routeBackup serves GET /_admin/backup when the server can back itself up. Like
// every /_admin/ route it needs the admin role (Auth.AdminRoles) with auth, and
// answers only loopback clients without it (DESIGN §13).
func (s *Server) routeBackup(opts Options) {
	if opts.Backup == nil {
		return
	}
	backup := opts.Backup
	s.route(BackupPath, readOnlyAllow, adminGuard(), readOnly(s, func(w http.ResponseWriter, r *http.Request) {
		s.serveBackup(w, r, backup)
	}))
}

// serveBackup streams the backup. Once bytes are sent a failure can no longer become
// an error response: the connection is cut, and the client is left with an archive
// that ends early, which restore refuses as truncated.
func (s *Server) serveBackup(w http.ResponseWriter, r *http.Request, backup func(context.Context, io.Writer) error) {
	w.Header().Set("Cache-Control", "no-store")
	h := w.Header()
	h.Set("Content-Type", "application/x-tar")
	h.Set("Content-Disposition", `attachment; filename="restkit-backup.tar"`)
	h.Set("Cache-Control", "no-store")
	if r.Method == http.MethodHead {
		return
	}
	cw := &countingWriter{w: w}
	err := backup(r.Context(), cw)
	switch {
	case err == nil:
	case cw.n == 0:
		h.Del("Content-Disposition")
		s.writeError(w, r, false, err)
	default:
		s.log.LogAttrs(r.Context(), slog.LevelError, "backup failed mid-stream", slog.String(keyPath, r.URL.Path), slog.Any(keyError, err))
		panic(http.ErrAbortHandler)
	}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil {
		return n, errors.Join(err, errClientGone)
	}
	return n, nil
}

var errClientGone = errors.New("the client stopped reading")
