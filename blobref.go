package restkit

import "context"

// BlobRef is a blob that artefact versions reference: its digest and size.
type BlobRef struct {
	SHA256 string
	Size   int64
}

// BlobReferrer is an ArtefactStore that can list the blobs its versions reference:
// what a backup copies and what verification re-hashes.
type BlobReferrer interface {
	// ReferencedBlobs returns up to limit referenced blobs with a digest above after
	// ("" from the start), each once, in ascending digest order.
	ReferencedBlobs(ctx context.Context, after string, limit int) ([]BlobRef, error)
}
