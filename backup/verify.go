package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/restkit/restkit"
)

// Referrer is the metadata store Verify reads: the blobs its versions reference, and
// whether one still is.
type Referrer interface {
	restkit.BlobReferrer
	Referenced(ctx context.Context, sha256 string) (bool, error)
}

// Problem is a referenced blob that is missing from the blob store, or whose content
// does not hash to its digest or is not its size.
type Problem struct {
	SHA256  string
	Size    int64 // what the metadata says
	Missing bool
	Got     string // the content's sha256, when corrupt
	GotSize int64  // the content's size, when corrupt
}

func (p Problem) String() string {
	if p.Missing {
		return fmt.Sprintf("missing  %s  (%d bytes)", p.SHA256, p.Size)
	}
	return fmt.Sprintf("corrupt  %s  (%d bytes: its content has sha256 %s, %d bytes)", p.SHA256, p.Size, p.Got, p.GotSize)
}

// VerifyOptions configure Verify.
type VerifyOptions struct {
	OnProblem func(Problem) // told of each problem as it is found
	Progress  Progress
}

// Report is what Verify checked and found.
type Report struct {
	Blobs            int64
	Bytes            int64
	Missing, Corrupt int64
}

// OK reports whether every blob checked out.
func (r Report) OK() bool { return r.Missing == 0 && r.Corrupt == 0 }

// Verify reads every blob meta references from blobs, hashes it and compares its
// digest and size with the metadata, telling o.OnProblem of each that is missing or
// corrupt. It works on a live deployment: a blob missing because a server deleted
// its last version meanwhile is not a problem (it is looked up again before it is
// reported). An error is a failure to read, not a problem found.
func Verify(ctx context.Context, meta Referrer, blobs restkit.BlobStore, o VerifyOptions) (Report, error) {
	var rep Report
	var total int64
	if err := eachReferenced(ctx, meta, func(b restkit.BlobRef) error { total += b.Size; return nil }); err != nil {
		return rep, err
	}
	var count io.Writer
	if o.Progress != nil {
		count = o.Progress(total)
	}
	buf := make([]byte, 256<<10)
	err := eachReferenced(ctx, meta, func(b restkit.BlobRef) error {
		p, err := check(ctx, meta, blobs, b, buf, count)
		if err != nil {
			return err
		}
		rep.Blobs++
		rep.Bytes += b.Size
		if p == nil {
			return nil
		}
		if p.Missing {
			rep.Missing++
		} else {
			rep.Corrupt++
		}
		if o.OnProblem != nil {
			o.OnProblem(*p)
		}
		return nil
	})
	return rep, err
}

// check reads one blob; a nil Problem when it is sound (or was deleted meanwhile).
func check(ctx context.Context, meta Referrer, blobs restkit.BlobStore, b restkit.BlobRef, buf []byte, count io.Writer) (*Problem, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, err := blobs.Open(ctx, b.SHA256)
	if restkit.IsKind(err, restkit.NotFound) {
		still, err := meta.Referenced(ctx, b.SHA256)
		if err != nil || !still {
			return nil, err
		}
		return &Problem{SHA256: b.SHA256, Size: b.Size, Missing: true}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", b.SHA256, err)
	}
	defer r.Close()
	h := sha256.New()
	var w io.Writer = h
	if count != nil {
		w = io.MultiWriter(h, count)
	}
	n, err := io.CopyBuffer(w, r, buf)
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", b.SHA256, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != b.SHA256 || n != b.Size {
		return &Problem{SHA256: b.SHA256, Size: b.Size, Got: got, GotSize: n}, nil
	}
	return nil, nil
}

// eachReferenced calls fn with every blob meta references, a page at a time.
func eachReferenced(ctx context.Context, meta restkit.BlobReferrer, fn func(restkit.BlobRef) error) error {
	after := ""
	for {
		page, err := meta.ReferencedBlobs(ctx, after, pageSize)
		if err != nil {
			return err
		}
		for _, b := range page {
			if err := fn(b); err != nil {
				return err
			}
		}
		if len(page) < pageSize {
			return nil
		}
		after = page[len(page)-1].SHA256
	}
}
