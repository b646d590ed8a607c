package s3blob_test

import (
	"context"
	"io"
	"log"
	"os"
	"strings"

	"github.com/restkit/restkit/s3blob"
)

// Open a store, check it for readiness, store a blob and read it back. A server
// wires the store into artefact.New as it does an fsblob.Store; the repository's
// Collect calls Clean at start.
func ExampleOpen() {
	ctx := context.Background()
	store, err := s3blob.Open(ctx, "s3://ACCESS:SECRET@127.0.0.1:7070/artefacts/restkit?insecure=true")
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("blobs in %s", store) // s3://127.0.0.1:7070/artefacts/restkit?insecure=true
	if err := store.Ping(ctx); err != nil {
		log.Fatal(err) // Unavailable
	}

	staged, err := store.Stage(ctx, strings.NewReader("hello, blob"), 1<<30)
	if err != nil {
		log.Fatal(err)
	}
	if err := staged.Commit(ctx); err != nil {
		log.Fatal(err)
	}
	r, err := store.Open(ctx, staged.SHA256())
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	if _, err := io.Copy(os.Stdout, r); err != nil {
		log.Fatal(err)
	}
}
