// Package client is the Go client of a restkit server: the generic calls behind
// `restkit get/post/…` (Do, JSON) and the artefact repository's calls behind
// `restkit push/pull/ls/versions/rm` (Push, Pull, Open, Stat, List, Directories,
// Versions, FindByDigest, Delete).
//
// # Errors
//
// A response with a status of 400 or more becomes a *restkit.Error. Its Kind comes
// from the status through KindOf, which reads the one kind↔status table (package
// status) backwards, so `restkit.IsKind(err, restkit.NotFound)` works the
// same on both sides of the wire. Its Message and Fields come from the body: an RFC
// 9457 problem ({"detail", "errors": [{"field","message"}]}) or the status envelope
// ({"status":"error","message","errors"}); a body without either (a HEAD, a proxy's
// page) gives the status text.
//
// A request that never got a response (refused connection, reset, cancelled context)
// returns the transport error wrapped with the method and URL, never a
// *restkit.Error: errors.As tells "the server said no" from "the server was not
// reached".
//
// # Streaming
//
// Push sends its reader as the request body as it reads it, and Pull writes the
// response body to its writer as it arrives: memory does not grow with the size of
// the file. The client sets no overall timeout, since a transfer may take as long as
// it takes; bound a call with its context.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// DefaultUserAgent is sent unless WithUserAgent sets another.
const DefaultUserAgent = "restkit-client"

// Client talks to one restkit server. It is safe for concurrent use.
type Client struct {
	base      *url.URL // scheme and host, and a path prefix without its trailing slash
	baseErr   error    // a bad base URL, returned by every call
	hc        *http.Client
	token     string
	userAgent string
}

// Option configures a Client.
type Option func(*Client)

// WithToken sends `Authorization: Bearer <token>` with every request.
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithHTTPClient uses hc instead of a plain &http.Client{} (for timeouts, proxies,
// TLS settings or a test transport).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client of the server at baseURL ("http://127.0.0.1:8080", or with a
// path prefix behind a proxy: "https://example.com/restkit"). A malformed baseURL
// is reported by every call.
func New(baseURL string, opts ...Option) *Client {
	c := &Client{hc: &http.Client{}, userAgent: DefaultUserAgent}
	u, err := url.Parse(baseURL)
	switch {
	case err != nil:
		c.baseErr = fmt.Errorf("server URL %q: %w", baseURL, err)
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		c.baseErr = fmt.Errorf("server URL %q: want http://HOST[:PORT] or https://HOST[:PORT]", baseURL)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		c.baseErr = fmt.Errorf("server URL %q: must have no query, fragment or user", baseURL)
	default:
		u.Path = strings.TrimRight(u.Path, "/")
		u.RawPath = ""
		c.base = u
	}
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		c.hc = &http.Client{}
	}
	return c
}

// BaseURL returns the server's URL as given to New, without a trailing slash.
func (c *Client) BaseURL() string {
	if c.base == nil {
		return ""
	}
	return c.base.String()
}

// urlOf turns a server path ("/cars?limit=2", escaped as it goes on the wire) into
// an absolute URL.
func (c *Client) urlOf(path string) (string, error) {
	if c.baseErr != nil {
		return "", c.baseErr
	}
	if !strings.HasPrefix(path, "/") {
		return "", fmt.Errorf("path %q must start with /", path)
	}
	return c.base.String() + path, nil
}

// Do sends a request to path (relative to the server, starting with "/", query
// included and already escaped) with body and header, and the client's token and
// User-Agent. A response below 400 (2xx, or a 3xx such as 304) is returned as it is
// and the caller closes its body; a response of 400 or more is read, closed and
// returned as the *restkit.Error it describes. A body that is not an io.Closer is
// not closed; one that is (an *os.File) is closed by the transport.
func (c *Client) Do(ctx context.Context, method, path string, body io.Reader, header http.Header) (*http.Response, error) {
	u, err := c.urlOf(path)
	if err != nil {
		return nil, err
	}
	req, err := c.newRequest(ctx, method, u, body, header)
	if err != nil {
		return nil, err
	}
	return c.send(req, "")
}

// JSON sends in (when not nil) as a JSON body and decodes a JSON response into out
// (when not nil and the response has a body). in is encoded with encoding/json: pass
// a json.RawMessage to send raw JSON. A success body of an API with the status
// envelope is decoded as it is ({"status":"ok","result":…}); its errors are decoded
// like problems. Errors are those of Do, or a decoding error.
func (c *Client) JSON(ctx context.Context, method, path string, in, out any) error {
	h := http.Header{"Accept": {"application/json"}}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encoding the request body: %w", err)
		}
		body = bytes.NewReader(b)
		h.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(ctx, method, path, body, h)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decodeJSON(resp, out)
}

// newRequest builds a request with the header given, the token and the User-Agent.
func (c *Client) newRequest(ctx context.Context, method, u string, body io.Reader, header http.Header) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if c.token != "" && req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.userAgent != "" && req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	return req, nil
}

// send runs req: a transport failure comes back wrapped with the method and URL, a
// status of 400 or more as a *restkit.Error (what names the thing asked for, for
// the message of a response without a body).
func (c *Client) send(req *http.Request, what string) (*http.Response, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		return nil, errorFrom(resp, what)
	}
	return resp, nil
}

// decodeJSON decodes resp's body into out, unless out is nil or there is no body.
func decodeJSON(resp *http.Response, out any) error {
	if out == nil || resp.StatusCode == http.StatusNoContent || resp.Request.Method == http.MethodHead {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decoding the response: %w", resp.Request.Method, resp.Request.URL.Redacted(), err)
	}
	return nil
}
