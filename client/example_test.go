package client_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/client"
)

// Upload a file, then download the latest version; errors carry the server's kind.
func Example() {
	ctx := context.Background()
	c := client.New("http://127.0.0.1:8080", client.WithToken(os.Getenv("RESTKIT_TOKEN")))

	f, err := os.Open("app.tar.gz")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	a, err := c.Push(ctx, "releases", "app.tar.gz", f, fi.Size(), client.PushOptions{Replace: true})
	switch {
	case restkit.IsKind(err, restkit.TooLarge):
		log.Fatal("the server takes smaller files: ", err)
	case err != nil:
		log.Fatal(err)
	}
	fmt.Println("stored version", a.Version, a.SHA256)

	res, err := c.Pull(ctx, "releases", "app.tar.gz", 0, os.Stdout, client.PullOptions{})
	if err != nil {
		log.Fatal(err) // a wrong digest wraps client.ErrDigestMismatch
	}
	fmt.Println("read", res.Written, "bytes of version", res.Artefact.Version)
}
