package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/restkit/restkit/client"
)

// pushConfig holds push's flags.
type pushConfig struct {
	Replace     bool
	CreateOnly  bool
	IfMatch     string
	ContentType string
}

func newPushCmd(r *remote) *cobra.Command {
	var c pushConfig
	cmd := &cobra.Command{
		Use:   "push DIR/ID FILE",
		Short: "Upload a file as an artefact",
		Long: `Upload FILE as the artefact ID of directory DIR (the directory is created
on the first push).

The file's SHA-256 is computed first and sent as X-Checksum-Sha256: the server
stores nothing unless the bytes it received have that digest. The file is then
streamed, with a progress bar on stderr when stderr is a terminal. The stored
version's metadata is printed on stdout as JSON.

Without flags, pushing to an ID that exists fails (409); --replace stores the
file as the artefact's next version; --create-only refuses to replace
(If-None-Match: *); --if-match SHA256 replaces only while the latest version
has that digest (412 otherwise).`,
		Example: `  restkit push releases/app-1.2.tar.gz ./dist/app.tar.gz
  restkit push --replace --content-type text/plain notes/today.txt today.txt`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return report(cmd, runPush(cmd, r, &c, args[0], args[1]))
		},
	}
	f := cmd.Flags()
	f.BoolVar(&c.Replace, "replace", false, "store a new version when the artefact exists (PUT)")
	f.BoolVar(&c.CreateOnly, "create-only", false, "fail when the artefact exists (PUT with If-None-Match: *)")
	f.StringVar(&c.IfMatch, "if-match", "", "replace only while the latest version has this SHA-256 (hex)")
	f.StringVar(&c.ContentType, "content-type", "", "Content-Type of the artefact; by default the server decides")
	cmd.MarkFlagsMutuallyExclusive("replace", "create-only")
	cmd.MarkFlagsMutuallyExclusive("if-match", "create-only")
	return cmd
}

func runPush(cmd *cobra.Command, r *remote, c *pushConfig, ref, path string) error {
	dir, id, err := parseRef(ref, false)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	size := fi.Size()
	stderr := cmd.ErrOrStderr()

	h := sha256.New()
	bar := newBar(stderr, size, "hashing")
	n, err := io.Copy(withBar(h, bar), f)
	finishBar(bar, err == nil)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	if n != size {
		return fmt.Errorf("%s changed while it was read (%d bytes, then %d)", path, size, n)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}

	bar = newBar(stderr, size, "pushing")
	var body io.Reader = f
	if bar != nil {
		body = io.TeeReader(f, bar)
	}
	a, err := r.client(cmd).Push(cmd.Context(), dir, id, body, size, client.PushOptions{
		Replace: c.Replace, CreateOnly: c.CreateOnly, IfMatch: c.IfMatch,
		ContentType: c.ContentType, SHA256: hex.EncodeToString(h.Sum(nil)),
	})
	finishBar(bar, err == nil)
	if err != nil {
		return err
	}
	return writeJSON(cmd.OutOrStdout(), client.NewArtefactJSON(a))
}
