package client

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/restkit/restkit"
	kindstatus "github.com/restkit/restkit/status"
)

// KindOf returns the error kind of an HTTP status: the kind the server answers it
// for (package status holds the one table, both ways), else Invalid for another 4xx
// and Internal for anything else.
func KindOf(status int) restkit.Kind { return kindstatus.Kind(status) }

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
