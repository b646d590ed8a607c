package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/client"
)

// pullConfig holds pull's flags.
type pullConfig struct {
	Output  string
	Version int64
}

func newPullCmd(r *remote) *cobra.Command {
	var c pullConfig
	cmd := &cobra.Command{
		Use:   "pull DIR/ID",
		Short: "Download an artefact, resuming an interrupted download",
		Long: `Download the latest version of the artefact DIR/ID (or --version N) to stdout,
or with -o FILE into FILE. A progress bar shows on stderr when stderr is a
terminal. The content's SHA-256 is checked against the one the server announced
(its ETag); a mismatch fails the pull.

With -o FILE the bytes go to FILE.part first, and FILE appears (renamed from
FILE.part) only once all of it arrived and its SHA-256 matched. A pull that is
interrupted (network failure, Ctrl-C) keeps FILE.part, and the next pull with
the same -o resumes it: it asks the server for the rest only (Range), on
condition that the artefact did not change meanwhile (If-Range with its
SHA-256); when it changed, the whole content comes again. A server refusal
(404, 400…) or a digest mismatch deletes FILE.part; a temporary one (429, 5xx)
keeps it for the next try.`,
		Example: `  restkit pull releases/app-1.2.tar.gz -o app.tar.gz
  restkit pull releases/app-1.2.tar.gz --version 1 | tar xz`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return report(cmd, runPull(cmd, r, &c, args[0]))
		},
	}
	f := cmd.Flags()
	f.StringVarP(&c.Output, "output", "o", "", "write to this file (via FILE.part, resumable) instead of stdout")
	f.Int64Var(&c.Version, "version", 0, "the version to download; the latest when 0")
	return cmd
}

func runPull(cmd *cobra.Command, r *remote, c *pullConfig, ref string) error {
	dir, id, err := parseRef(ref, false)
	if err != nil {
		return err
	}
	if c.Version < 0 {
		return errors.New("--version must be 1 or more (0: the latest)")
	}
	p := &puller{cmd: cmd, cl: r.client(cmd), dir: dir, id: id, version: c.Version}
	if c.Output == "" || c.Output == "-" {
		return p.toStdout()
	}
	return p.toFile(c.Output)
}

// puller downloads one artefact version.
type puller struct {
	cmd     *cobra.Command
	cl      *client.Client
	dir, id string
	version int64
}

func (p *puller) name() string {
	s := p.dir + "/" + p.id
	if p.version > 0 {
		s += fmt.Sprintf(" version %d", p.version)
	}
	return s
}

// copyBody copies body to w, hashing it into h, with a progress bar from offset.
func (p *puller) copyBody(w io.Writer, h hash.Hash, body io.Reader, res *client.PullResult) (int64, error) {
	bar := newBar(p.cmd.ErrOrStderr(), res.Artefact.Size, "pulling")
	if bar != nil && res.Offset > 0 {
		_ = bar.Set64(res.Offset)
	}
	n, err := io.Copy(withBar(io.MultiWriter(w, h), bar), body)
	finishBar(bar, err == nil)
	if err != nil {
		if p.cmd.Context().Err() != nil {
			err = errors.New("interrupted")
		}
		return n, fmt.Errorf("pulling %s: %w", p.name(), err)
	}
	return n, nil
}

// toStdout streams the content to stdout, then checks its digest.
func (p *puller) toStdout() error {
	res, body, err := p.cl.Open(p.cmd.Context(), p.dir, p.id, p.version, client.PullOptions{})
	if err != nil {
		return err
	}
	defer body.Close()
	h := sha256.New()
	n, err := p.copyBody(p.cmd.OutOrStdout(), h, body, res)
	if err != nil {
		return err
	}
	if err := client.CheckDigest(res.Artefact, n, hex.EncodeToString(h.Sum(nil))); err != nil {
		return fmt.Errorf("pulling %s: %w", p.name(), err)
	}
	return nil
}

// toFile downloads into out+".part", resuming what a previous pull left there, and
// renames it to out once the whole content is there with the right digest.
//
// The digest of the content a part file holds a prefix of is kept beside it, in
// out+".part.sha256", and sent as If-Range when resuming: if the artefact changed
// since, the server answers 200 with the whole new content instead of appending the
// new content's tail to the old content's head. A part without that record starts over.
func (p *puller) toFile(out string) error {
	ctx := p.cmd.Context()
	part := out + ".part"
	source := part + ".sha256"
	h := sha256.New()
	var o client.PullOptions
	if fi, err := os.Stat(part); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
		st, err := p.cl.Stat(ctx, p.dir, p.id, p.version)
		if err != nil {
			return dropPart(part, err)
		}
		switch {
		case st.Size >= 0 && fi.Size() == st.Size:
			// Everything arrived last time, but the pull stopped before the rename.
			if sum, err := hashFile(part); err == nil && client.CheckDigest(st, fi.Size(), sum) == nil {
				return os.Rename(part, out)
			}
		case st.Size >= 0 && fi.Size() > st.Size:
			// Not a prefix of this content: start over.
		default:
			if sum, err := os.ReadFile(source); err == nil {
				o = client.PullOptions{Offset: fi.Size(), IfRange: strings.TrimSpace(string(sum))}
			}
		}
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}

	res, body, err := p.cl.Open(ctx, p.dir, p.id, p.version, o)
	if err != nil {
		return dropPart(part, err)
	}
	defer body.Close()
	if !res.Resumed {
		if err := os.WriteFile(source, []byte(res.Artefact.SHA256+"\n"), 0o644); err != nil {
			return err
		}
	}
	f, err := openPart(part, res, h)
	if err != nil {
		return err
	}
	n, err := p.copyBody(f, h, body, res)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%w; %s keeps what arrived: pull again to resume", err, part)
	}
	if err := client.CheckDigest(res.Artefact, res.Offset+n, hex.EncodeToString(h.Sum(nil))); err != nil {
		_ = os.Remove(part)
		_ = os.Remove(source)
		return fmt.Errorf("pulling %s: %w; deleted %s", p.name(), err, part)
	}
	if err := os.Rename(part, out); err != nil {
		return err
	}
	_ = os.Remove(source)
	return nil
}

// openPart opens the part file for the body of res: to append after hashing the
// part's first res.Offset bytes into h when the server resumed, else emptied (a
// 200 instead of a 206 means the content changed, or ranges are not served).
func openPart(part string, res *client.PullResult, h hash.Hash) (*os.File, error) {
	if !res.Resumed {
		return os.OpenFile(part, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	}
	f, err := os.OpenFile(part, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	if _, err := io.CopyN(h, f, res.Offset); err != nil {
		f.Close()
		return nil, fmt.Errorf("reading %s: %w", part, err)
	}
	if err := f.Truncate(res.Offset); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// dropPart deletes the part file when the server refused the pull for good (it
// answered with an error other than a temporary one) and returns err. A transport
// failure or a temporary refusal (429, 5xx) keeps it to resume later.
func dropPart(part string, err error) error {
	var e *restkit.Error
	if !errors.As(err, &e) {
		return err
	}
	switch e.Kind {
	case restkit.RateLimited, restkit.Unavailable, restkit.Internal:
		return err
	}
	_ = os.Remove(part + ".sha256")
	if rerr := os.Remove(part); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		return errors.Join(err, rerr)
	}
	return err
}

// hashFile returns the hex SHA-256 of a file.
func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
