package restkit

import (
	"errors"
	"fmt"
)

// Kind classifies an error by what the client can do about it. Each kind has exactly
// one HTTP status (package status holds the table; the server maps kinds to statuses
// with it and the Go client maps them back), so a kind is part of the public
// contract: add kinds, never repurpose one.
type Kind string

const (
	Invalid              Kind = "invalid"               // 400: the request is malformed or fails validation
	Unauthorized         Kind = "unauthorized"          // 401
	Forbidden            Kind = "forbidden"             // 403
	NotFound             Kind = "not_found"             // 404
	MethodNotAllowed     Kind = "method_not_allowed"    // 405
	NotAcceptable        Kind = "not_acceptable"        // 406
	Conflict             Kind = "conflict"              // 409: key or unique value taken, state forbids it
	PreconditionFailed   Kind = "precondition_failed"   // 412: If-Match / If-Unmodified-Since mismatch
	TooLarge             Kind = "too_large"             // 413
	RangeNotSatisfiable  Kind = "range_not_satisfiable" // 416: a Range outside the representation
	UnsupportedMedia     Kind = "unsupported_media"     // 415
	PreconditionRequired Kind = "precondition_required" // 428
	RateLimited          Kind = "rate_limited"          // 429
	Unavailable          Kind = "unavailable"           // 503
	InsufficientStorage  Kind = "insufficient_storage"  // 507: the disk is too full to take the upload
	ChecksumMismatch     Kind = "checksum_mismatch"     // 460: a tus PATCH whose Upload-Checksum does not match its body (tus 1.0 checksum extension)
	Internal             Kind = "internal"              // 500: anything not classified; details stay in the log
)

// Kinds lists every Kind, in the order above. Tables keyed by kind (the HTTP status
// of each, in package status) are checked against it, so a kind added here and
// forgotten there fails a test.
func Kinds() []Kind {
	return []Kind{Invalid, Unauthorized, Forbidden, NotFound, MethodNotAllowed, NotAcceptable, Conflict,
		PreconditionFailed, TooLarge, RangeNotSatisfiable, UnsupportedMedia, PreconditionRequired, RateLimited,
		Unavailable, InsufficientStorage, ChecksumMismatch, Internal}
}

// FieldError is one failing field (or query parameter) and why, in words for the client.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is the one error type of restkit. Message and Fields are safe to show to
// clients; Op and Err are for logs only and never leave the process.
type Error struct {
	Kind    Kind
	Message string
	Fields  []FieldError
	Op      string // the operation that failed, e.g. "sqlite.WriteRecord"
	Err     error  // the underlying cause, if any
}

func (e *Error) Error() string {
	s := e.Message
	if e.Op != "" {
		s = e.Op + ": " + s
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of the given kind with a client-safe message.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an Internal error that records op and err for the log; the client sees
// only "internal error". A nil err gives nil. An err that already is an *Error keeps
// its kind and message.
func Wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Kind: Internal, Message: "internal error", Op: op, Err: err}
}

// ErrorKind returns the kind of err: the kind of the first *Error in its chain, or
// Internal for any other non-nil error.
func ErrorKind(err error) Kind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// IsKind reports whether err is of the given kind.
func IsKind(err error, kind Kind) bool { return ErrorKind(err) == kind }

// ErrorMessage returns the client-safe message of err: an *Error's Message, or
// "internal error" for anything else, so Go error strings never reach clients.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Kind != Internal {
		return e.Message
	}
	return "internal error"
}

// ErrorFields returns the per-field failures of err, if any.
func ErrorFields(err error) []FieldError {
	var e *Error
	if errors.As(err, &e) && e.Kind != Internal {
		return e.Fields
	}
	return nil
}
