package httpapi

import (
	"net/http"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/artefact"
)

// cleanupPath runs the artefact cleanup policies on demand (`restkit cleanup`):
// POST, with ?dry_run=true to report only. It needs an admin role (auth.admin_roles);
// without auth it answers loopback clients only (DESIGN §13).
const (
	cleanupPath  = "/_admin/cleanup"
	allowCleanup = "POST, OPTIONS"
)

// cleanupJSON is the report of a cleanup run.
type cleanupJSON struct {
	DryRun     bool           `json:"dry_run"`
	Skipped    bool           `json:"skipped"`
	Started    string         `json:"started"`
	Finished   string         `json:"finished"`
	Versions   []artefactJSON `json:"versions"`
	Count      int            `json:"count"`
	BytesFreed int64          `json:"bytes_freed"`
}

func (s *Server) routeCleanup(repo *artefact.Repository) {
	h := &artefactHandler{s: s, repo: repo, base: s.artefacts}
	s.route(cleanupPath, allowCleanup, adminGuard(), h.serveCleanup)
}

func (h *artefactHandler) serveCleanup(w http.ResponseWriter, r *http.Request) {
	if !h.verbs(w, r, allowCleanup) {
		return
	}
	q, err := onlyParams(r, "dry_run")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	dry := false
	switch q.Get("dry_run") {
	case "", "false":
	case "true":
		dry = true
	default:
		h.fail(w, r, &restkit.Error{Kind: restkit.Invalid, Message: "invalid query parameters",
			Fields: []restkit.FieldError{{Field: "dry_run", Message: "must be true or false"}}})
		return
	}
	rep := h.repo.Cleanup(writeContext(r), dry)
	if rep.Err != nil {
		h.fail(w, r, rep.Err)
		return
	}
	writeJSON(w, http.StatusOK, mediaJSON, cleanupJSON{DryRun: rep.DryRun, Skipped: rep.Skipped,
		Started: rep.Started.Format(time.RFC3339Nano), Finished: rep.Finished.Format(time.RFC3339Nano),
		Versions: toJSONList(rep.Versions), Count: len(rep.Versions), BytesFreed: rep.BytesFreed})
}
