package client

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/restkit/restkit"
)

// Resumable uploads: the client side of the server's tus 1.0 endpoint (/_uploads).

// ResumableOptions refine a PushResumable.
type ResumableOptions struct {
	// SHA256 (hex) of the whole content, sent at creation: the server stores nothing
	// when the complete upload does not have it.
	SHA256      string
	ContentType string
	// UploadURL resumes an upload started earlier (the URL OnCreate was given); an
	// upload the server no longer knows is started again.
	UploadURL string
	// OnCreate is called with the URL of a new upload, to remember it for a resume.
	OnCreate func(url string)
	// ChunkSize is the most bytes one PATCH sends; 0 sends the rest in one.
	ChunkSize int64
	// Retries is how often a failed PATCH is resumed (from the offset a HEAD tells,
	// after 100 ms, then twice as long each time) before giving up; 0 means 6.
	Retries int
	// Body wraps each PATCH's body (a progress bar counts what is read); nil: none.
	Body func(r io.Reader) io.Reader
}

// ResumableResult says how an upload went.
type ResumableResult struct {
	URL     string // the upload's URL
	Resumed bool   // it went on from an offset above 0
	Sent    int64  // bytes sent in PATCH bodies, by this call
}

// PushResumable uploads size bytes of f as a new version of dir/id through a
// resumable upload, resuming after failures, and returns the stored version.
//
// Errors: Invalid (a bad name, a checksum mismatch), TooLarge, Forbidden, or the
// last transport error when the retries ran out.
func (c *Client) PushResumable(ctx context.Context, dir, id string, f io.ReaderAt, size int64, o ResumableOptions) (*restkit.Artefact, *ResumableResult, error) {
	if _, err := artefactPath(dir, id, true); err != nil {
		return nil, nil, err
	}
	res := &ResumableResult{URL: o.UploadURL}
	offset, version := int64(0), int64(0)
	if res.URL != "" {
		var err error
		offset, version, err = c.uploadOffset(ctx, res.URL)
		if restkit.IsKind(err, restkit.NotFound) || restkit.IsKind(err, restkit.Forbidden) {
			res.URL, offset = "", 0 // expired, or not ours: start again
		} else if err != nil {
			return nil, res, err
		}
		res.Resumed = offset > 0
	}
	if res.URL == "" {
		u, err := c.createUpload(ctx, dir, id, size, o)
		if err != nil {
			return nil, res, err
		}
		res.URL = u
		if o.OnCreate != nil {
			o.OnCreate(u)
		}
	}
	retries := o.Retries
	if retries == 0 {
		retries = 6
	}
	for attempt := 0; version == 0; {
		n := size - offset
		if o.ChunkSize > 0 {
			n = min(n, o.ChunkSize)
		}
		var body io.Reader = io.NewSectionReader(f, offset, n)
		if o.Body != nil {
			body = o.Body(body)
		}
		counted := &countingReader{r: body}
		next, v, err := c.patchUpload(ctx, res.URL, offset, counted, n)
		res.Sent += counted.n
		if err == nil {
			offset, version = next, v
			continue
		}
		var re *restkit.Error
		retriable := ctx.Err() == nil && (!asError(err, &re) || re.Kind == restkit.Conflict || re.Kind == restkit.Unavailable || re.Kind == restkit.Internal)
		if attempt++; !retriable || attempt > retries {
			return nil, res, err
		}
		// The server may still be finishing the PATCH that broke (409 meanwhile):
		// wait a little longer before each attempt, 100 ms doubling.
		select {
		case <-ctx.Done():
			return nil, res, ctx.Err()
		case <-time.After(time.Duration(50<<attempt) * time.Millisecond):
		}
		if offset, version, err = c.uploadOffset(ctx, res.URL); err != nil {
			return nil, res, err
		}
		res.Resumed = true
	}
	a, err := c.Stat(ctx, dir, id, version)
	return a, res, err
}

func asError(err error, target **restkit.Error) bool {
	e, ok := err.(*restkit.Error)
	if ok {
		*target = e
	}
	return ok
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *Client) createUpload(ctx context.Context, dir, id string, size int64, o ResumableOptions) (string, error) {
	meta := "path " + base64.StdEncoding.EncodeToString([]byte(dir+"/"+id))
	if o.ContentType != "" {
		meta += ",filetype " + base64.StdEncoding.EncodeToString([]byte(o.ContentType))
	}
	h := http.Header{"Tus-Resumable": {"1.0.0"}, "Upload-Length": {strconv.FormatInt(size, 10)}, "Upload-Metadata": {meta}}
	if o.SHA256 != "" {
		h.Set("X-Checksum-Sha256", strings.ToLower(o.SHA256))
	}
	resp, err := c.Do(ctx, http.MethodPost, "/_uploads", http.NoBody, h)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
	if err != nil || resp.Header.Get("Location") == "" {
		return "", fmt.Errorf("POST /_uploads: no usable Location in the answer")
	}
	return loc.String(), nil
}

// uploadOffset asks where an upload stands (HEAD); version > 0 when it is complete.
func (c *Client) uploadOffset(ctx context.Context, u string) (offset, version int64, err error) {
	req, err := c.newRequest(ctx, http.MethodHead, u, nil, http.Header{"Tus-Resumable": {"1.0.0"}})
	if err != nil {
		return 0, 0, err
	}
	resp, err := c.send(req, "the upload")
	if err != nil {
		return 0, 0, err
	}
	resp.Body.Close()
	offset, err = strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("HEAD %s: no Upload-Offset in the answer", req.URL.Redacted())
	}
	version, _ = strconv.ParseInt(resp.Header.Get("X-Artefact-Version"), 10, 64)
	return offset, version, nil
}

// patchUpload sends n bytes from offset; it returns the new offset and, once the
// upload is complete, its version.
func (c *Client) patchUpload(ctx context.Context, u string, offset int64, body io.Reader, n int64) (int64, int64, error) {
	req, err := c.newRequest(ctx, http.MethodPatch, u, io.NopCloser(body), http.Header{"Tus-Resumable": {"1.0.0"},
		"Content-Type": {"application/offset+octet-stream"}, "Upload-Offset": {strconv.FormatInt(offset, 10)}})
	if err != nil {
		return 0, 0, err
	}
	req.ContentLength = n
	if n == 0 {
		req.Body = http.NoBody
	}
	resp, err := c.send(req, "the upload")
	if err != nil {
		return 0, 0, err
	}
	resp.Body.Close()
	next, err := strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("PATCH %s: no Upload-Offset in the answer", req.URL.Redacted())
	}
	version, _ := strconv.ParseInt(resp.Header.Get("X-Artefact-Version"), 10, 64)
	return next, version, nil
}
