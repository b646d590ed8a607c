// Package status is the one table between restkit's error kinds and HTTP status
// codes. The server answers an error with status.Of(kind) and the Go client reads a
// status back into a kind with status.Kind, so `restkit.IsKind(err, restkit.NotFound)`
// means the same on both sides of the wire. A test walks every kind of
// restkit.Kinds through both directions.
package status

import (
	"net/http"

	"github.com/restkit/restkit"
)

// table is the one mapping: each kind has one status, each status one kind.
var table = []struct {
	kind   restkit.Kind
	status int
}{
	{restkit.Invalid, http.StatusBadRequest},
	{restkit.Unauthorized, http.StatusUnauthorized},
	{restkit.Forbidden, http.StatusForbidden},
	{restkit.NotFound, http.StatusNotFound},
	{restkit.MethodNotAllowed, http.StatusMethodNotAllowed},
	{restkit.NotAcceptable, http.StatusNotAcceptable},
	{restkit.Conflict, http.StatusConflict},
	{restkit.PreconditionFailed, http.StatusPreconditionFailed},
	{restkit.TooLarge, http.StatusRequestEntityTooLarge},
	{restkit.RangeNotSatisfiable, http.StatusRequestedRangeNotSatisfiable},
	{restkit.UnsupportedMedia, http.StatusUnsupportedMediaType},
	{restkit.PreconditionRequired, http.StatusPreconditionRequired},
	{restkit.RateLimited, http.StatusTooManyRequests},
	{restkit.Unavailable, http.StatusServiceUnavailable},
	{restkit.InsufficientStorage, http.StatusInsufficientStorage},
	{restkit.ChecksumMismatch, StatusChecksumMismatch},
	{restkit.Internal, http.StatusInternalServerError},
}

// StatusChecksumMismatch is tus 1.0's 460 Checksum Mismatch (checksum extension):
// the body of a PATCH does not have the checksum its Upload-Checksum header names.
const StatusChecksumMismatch = 460

// Text is the reason phrase of a status: net/http's, and "Checksum Mismatch" for 460,
// which net/http does not know.
func Text(code int) string {
	if code == StatusChecksumMismatch {
		return "Checksum Mismatch"
	}
	return http.StatusText(code)
}

var (
	byKind   = map[restkit.Kind]int{}
	byStatus = map[int]restkit.Kind{}
)

func init() {
	for _, row := range table {
		byKind[row.kind] = row.status
		byStatus[row.status] = row.kind
	}
}

// Of returns the HTTP status of a kind; 500 for a kind the table does not know.
func Of(kind restkit.Kind) int {
	if s, ok := byKind[kind]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Kind returns the kind of an HTTP status: the kind the table maps to it, else
// Invalid for another 4xx (the request was at fault) and Internal for anything else
// (another 5xx, or a status a server never answers an error with).
func Kind(status int) restkit.Kind {
	if k, ok := byStatus[status]; ok {
		return k
	}
	if status >= 400 && status < 500 {
		return restkit.Invalid
	}
	return restkit.Internal
}
