package s3blob

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/minio/minio-go/v7"

	"github.com/restkit/restkit"
)

// A reader asks for its bytes in two steps: the first GET after Open or a Seek asks
// for minWindow bytes, and a GET that carries on where the last one ended asks for
// all the rest. A small range costs one small request; a whole download two. One
// long GET for the rest, rather than a series of windows, also keeps a download
// whole when another node deletes the blob meanwhile (a newer version pruned the
// one being read): S3 servers finish a GET they have begun, but a window asked for
// after the deletion would find nothing.
const minWindow = 1 << 20

// reader reads one blob with ranged GETs, on demand: Open, Seek and Size ask the
// server nothing, so http.ServeContent's answer to a Range or a HEAD costs only
// what it sends. Its errors are restkit errors (io.EOF aside).
type reader struct {
	s    *Store
	ctx  context.Context // the Open's: requests end with it
	key  string
	size int64

	pos    int64         // where the next Read reads
	body   io.ReadCloser // the open GET, or nil
	at     int64         // where body's next byte is
	end    int64         // where body's window ends
	window int64         // the size of the next GET that carries on at end
	closed bool
}

func (r *reader) Size() int64 { return r.size }

func (r *reader) Read(p []byte) (int, error) {
	const op = "s3blob.Read"
	switch {
	case r.closed:
		return 0, restkit.Wrap(op, errors.New("read of a closed reader"))
	case r.pos >= r.size:
		return 0, io.EOF
	case len(p) == 0:
		return 0, nil
	}
	if r.body != nil && (r.at != r.pos || r.at == r.end) {
		r.drop()
	}
	if r.body == nil {
		// Carrying on where the last window ended: all the rest; else start small.
		if r.pos == r.end && r.end != 0 {
			r.window = r.size - r.pos
		} else {
			r.window = minWindow
		}
		end := min(r.size, r.pos+r.window)
		body, err := r.s.get(r.ctx, r.key, r.pos, end)
		if err != nil {
			return 0, r.s.fail(op, r.ctx, err)
		}
		r.body, r.at, r.end = body, r.pos, end
	}
	n, err := r.body.Read(p[:min(int64(len(p)), r.end-r.at)])
	r.at += int64(n)
	r.pos += int64(n)
	if err == io.EOF {
		err = nil
		if r.at < r.end {
			err = io.ErrUnexpectedEOF // the blob is shorter than its size
		}
	}
	if err != nil {
		r.drop()
		return n, r.s.fail(op, r.ctx, err)
	}
	return n, nil
}

// drop closes the open GET, if any. A window not read to its end closes its
// connection; the server stops sending.
func (r *reader) drop() {
	if r.body != nil {
		_ = r.body.Close()
		r.body = nil
	}
}

// ReadAt reads len(p) bytes at off with one GET, without moving the reader, so
// ranges can be read concurrently from one reader.
func (r *reader) ReadAt(p []byte, off int64) (int, error) {
	const op = "s3blob.ReadAt"
	switch {
	case r.closed:
		return 0, restkit.Wrap(op, errors.New("read of a closed reader"))
	case off < 0:
		return 0, restkit.Wrap(op, fmt.Errorf("negative offset %d", off))
	case off >= r.size:
		return 0, io.EOF
	case len(p) == 0:
		return 0, nil
	}
	end := min(r.size, off+int64(len(p)))
	body, err := r.s.get(r.ctx, r.key, off, end)
	if err != nil {
		return 0, r.s.fail(op, r.ctx, err)
	}
	defer body.Close()
	n, err := io.ReadFull(body, p[:end-off])
	if err != nil {
		return n, r.s.fail(op, r.ctx, err)
	}
	if end-off < int64(len(p)) {
		return n, io.EOF
	}
	return n, nil
}

// Seek moves the position; anywhere at or past the end is allowed, as for a file.
// It asks the server nothing.
func (r *reader) Seek(offset int64, whence int) (int64, error) {
	const op = "s3blob.Seek"
	if r.closed {
		return 0, restkit.Wrap(op, errors.New("seek of a closed reader"))
	}
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, restkit.Wrap(op, fmt.Errorf("bad whence %d", whence))
	}
	if offset < 0 {
		return 0, restkit.Wrap(op, fmt.Errorf("negative position %d", offset))
	}
	r.pos = offset
	return offset, nil
}

// Close ends the open GET, if any.
func (r *reader) Close() error {
	r.drop()
	r.closed = true
	return nil
}

// get starts a GET of the bytes [start, end) of key, and checks that the answer
// has that many: a server that ignored the range would send the wrong ones.
func (s *Store) get(ctx context.Context, key string, start, end int64) (io.ReadCloser, error) {
	var opts minio.GetObjectOptions
	if err := opts.SetRange(start, end-1); err != nil {
		return nil, err
	}
	body, info, _, err := s.core.GetObject(ctx, s.cfg.Bucket, key, opts)
	if err != nil {
		return nil, err
	}
	if info.Size != end-start {
		_ = body.Close()
		return nil, fmt.Errorf("GET %s bytes %d-%d: the server sent %d bytes", key, start, end-1, info.Size)
	}
	return body, nil
}
