package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/restkit/restkit"
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
		Long: `Upload FILE as the artefact ID of directory DIR, a path of up to 8 segments
(org/app/1.2.0/app.tgz; the directories are created on the first push).

The file's SHA-256 is computed first and sent as X-Checksum-Sha256: the server
stores nothing unless the bytes it received have that digest. A file over 1 MiB
is first deployed by checksum (X-Checksum-Deploy): when the server already holds
that content, no bytes are sent. Otherwise the file is streamed, with a progress
bar on stderr when stderr is a terminal; over 1 MiB as a resumable upload (tus),
which goes on after a network failure, and, when push is run again after an
interruption, from where the server's bytes end. The stored version's metadata
is printed on stdout as JSON.

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

	sum := hex.EncodeToString(h.Sum(nil))
	a, err := pushFile(cmd, r.client(cmd), c, dir, id, f, size, sum)
	if err != nil {
		return err
	}
	return writeJSON(cmd.OutOrStdout(), client.NewArtefactJSON(a))
}

// Sizes from which push deploys by checksum first, and uploads resumably.
const (
	deployFrom    = 1 << 20
	resumableFrom = 1 << 20
)

// pushFile sends the file: for files over 1 MiB first as a deploy by checksum (no
// bytes sent when the server holds the content), then, unless a precondition flag
// asks for a plain upload, as a resumable upload whose URL is kept under the user's
// cache directory until it completes, so that a push broken off — by the network or
// by Ctrl-C — goes on from where the server's bytes end when run again.
func pushFile(cmd *cobra.Command, cl *client.Client, c *pushConfig, dir, id string, f *os.File, size int64, sum string) (*restkit.Artefact, error) {
	ctx := cmd.Context()
	stderr := cmd.ErrOrStderr()
	opts := client.PushOptions{Replace: c.Replace, CreateOnly: c.CreateOnly, IfMatch: c.IfMatch, ContentType: c.ContentType, SHA256: sum}
	if size > deployFrom {
		deploy := opts
		deploy.Deploy = true
		a, err := cl.Push(ctx, dir, id, nil, 0, deploy)
		if err == nil {
			fmt.Fprintln(stderr, "deployed by checksum: the server holds this content; no bytes sent")
			return a, nil
		}
		if !restkit.IsKind(err, restkit.NotFound) {
			return nil, err
		}
	}
	bar := newBar(stderr, size, "pushing")
	if size <= resumableFrom || c.CreateOnly || c.IfMatch != "" {
		var body io.Reader = f
		if bar != nil {
			body = io.TeeReader(f, bar)
		}
		a, err := cl.Push(ctx, dir, id, body, size, opts)
		finishBar(bar, err == nil)
		return a, err
	}
	if !c.Replace { // a push without --replace creates: refuse as the server would
		if _, err := cl.Stat(ctx, dir, id, 0); err == nil {
			finishBar(bar, false)
			return nil, restkit.Errorf(restkit.Conflict, "artefact %s/%s exists; --replace stores a new version", dir, id)
		}
	}
	state := uploadState(cl.BaseURL(), dir+"/"+id, sum)
	ro := client.ResumableOptions{SHA256: sum, ContentType: c.ContentType, UploadURL: readState(state),
		OnCreate: func(u string) { writeState(state, u) }}
	if bar != nil {
		ro.Body = func(r io.Reader) io.Reader { return io.TeeReader(r, bar) }
	}
	a, res, err := cl.PushResumable(ctx, dir, id, f, size, ro)
	finishBar(bar, err == nil)
	if res != nil && res.Resumed {
		fmt.Fprintf(stderr, "resumed an interrupted upload: sent %d of %d bytes\n", res.Sent, size)
	}
	if err == nil && state != "" {
		_ = os.Remove(state)
	}
	return a, err
}

// uploadState is the file that remembers the URL of a resumable upload of content
// (its SHA-256) to a server's path: "" when there is no cache directory.
func uploadState(server, path, sum string) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	key := sha256.Sum256([]byte(server + "\n" + path + "\n" + sum))
	return filepath.Join(dir, "restkit", "uploads", hex.EncodeToString(key[:16]))
}

func readState(file string) string {
	if file == "" {
		return ""
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func writeState(file, u string) {
	if file == "" {
		return
	}
	if os.MkdirAll(filepath.Dir(file), 0o700) == nil {
		_ = os.WriteFile(file, []byte(u+"\n"), 0o600)
	}
}
