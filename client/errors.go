package client

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/restkit/restkit"
)

// kindOf is the server's kind→status table (httpapi.statusOf) reversed. A test
// checks that every kind goes there and back.
var kindOf = map[int]restkit.Kind{
	http.StatusBadRequest:            restkit.Invalid,
	http.StatusUnauthorized:          restkit.Unauthorized,
	http.StatusForbidden:             restkit.Forbidden,
	http.StatusNotFound:              restkit.NotFound,
	http.StatusMethodNotAllowed:      restkit.MethodNotAllowed,
	http.StatusNotAcceptable:         restkit.NotAcceptable,
	http.StatusConflict:              restkit.Conflict,
	http.StatusPreconditionFailed:    restkit.PreconditionFailed,
	http.StatusRequestEntityTooLarge: restkit.TooLarge,
	http.StatusUnsupportedMediaType:  restkit.UnsupportedMedia,
	http.StatusPreconditionRequired:  restkit.PreconditionRequired,
	http.StatusTooManyRequests:       restkit.RateLimited,
	http.StatusServiceUnavailable:    restkit.Unavailable,
	http.StatusInsufficientStorage:   restkit.InsufficientStorage,
	http.StatusInternalServerError:   restkit.Internal,
}

// KindOf returns the error kind of an HTTP status: the kind the server maps to it,
// else Invalid for another 4xx (the request was at fault) and Internal for anything
// else (another 5xx, or a status a server never answers an error with).
func KindOf(status int) restkit.Kind {
	if k, ok := kindOf[status]; ok {
		return k
	}
	if status >= 400 && status < 500 {
		return restkit.Invalid
	}
	return restkit.Internal
}

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 64 << 10

// errorFrom reads an error response (status ≥ 400) into a *restkit.Error: the kind
// from the status, Message and Fields from a problem or envelope body. A body
// without a message gives "<what>: <status text>" ("not found"), what being the
// thing that was asked for, or nothing.
func errorFrom(resp *http.Response, what string) *restkit.Error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody)) // let the connection be reused
	e := &restkit.Error{Kind: KindOf(resp.StatusCode)}
	// One struct reads both bodies: a problem's detail or an envelope's message;
	// their "status" fields (a number, a string) are left alone.
	var body struct {
		Detail  string               `json:"detail"`
		Message string               `json:"message"`
		Title   string               `json:"title"`
		Errors  []restkit.FieldError `json:"errors"`
	}
	if len(b) > 0 && json.Unmarshal(b, &body) == nil {
		e.Fields = body.Errors
		switch {
		case body.Detail != "":
			e.Message = body.Detail
		case body.Message != "":
			e.Message = body.Message
		case body.Title != "":
			e.Message = strings.ToLower(body.Title)
		}
	}
	if e.Message == "" {
		e.Message = strings.ToLower(http.StatusText(resp.StatusCode))
		if e.Message == "" {
			e.Message = "HTTP status " + strconv.Itoa(resp.StatusCode)
		}
		if what != "" {
			e.Message = what + ": " + e.Message
		}
	}
	return e
}
