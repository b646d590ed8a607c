package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"

	"github.com/dustin/go-humanize"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/restkit/restkit/backup"
	"github.com/restkit/restkit/httpapi"
)

func newBackupCmd() *cobra.Command {
	var c storeFlags
	var out string
	cmd := &cobra.Command{
		Use:   "backup [--data DIR | --server URL] -o FILE",
		Short: "Write a consistent backup of a data directory to one tar file, while it is served",
		Long: `Write a backup of a data directory (SQLite and files) to FILE: a snapshot of the
database, every blob it references and a manifest of their sha256 sums, in one
tar archive. It runs beside a live server, which goes on taking writes: the
snapshot is one commit's state, and every artefact it holds is in the archive
with its content. Memory use does not grow with the size of the directory; a
progress bar shows on stderr when it is a terminal.

FILE must not exist; it appears only when the backup is complete. -o - writes
the archive to stdout. With --server (and --token, an admin's API key) the
server writes the backup of its own data directory and the command saves it:
GET /_admin/backup, which needs the admin role (or, without auth, a client on
the server's machine). For PostgreSQL and S3, see "Backups" in the README
(pg_dump and a copy of the bucket).`,
		Example: `  restkit backup --data ./restkit-data -o restkit-$(date +%F).tar
  restkit backup -o - | ssh backup-host 'cat > restkit.tar'
  restkit backup --server https://api.example --token "$ADMIN_KEY" -o restkit.tar`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.resolve(cmd)
			if cmd.Flags().Changed("server") {
				if cmd.Flags().Changed("data") {
					return errors.New("--data and --server name two places to back up: give one")
				}
				return runRemoteBackup(cmd, out)
			}
			return runBackup(cmd, c.Data, out)
		},
	}
	c.add(cmd, false)
	cmd.Flags().StringVarP(&out, "output", "o", "", "the backup file to write (it must not exist); - for stdout")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}

func runBackup(cmd *cobra.Command, data, out string) (err error) {
	if err := backup.CheckData(data); err != nil {
		return fmt.Errorf("%w: nothing to back up", err)
	}
	stderr := cmd.ErrOrStderr()
	w, tempDir, finish, err := backupTarget(cmd, out)
	if err != nil {
		return err
	}
	var bar *progressbar.ProgressBar
	sum, err := backup.Write(cmd.Context(), w, backup.WriteOptions{Data: data, TempDir: tempDir,
		Progress: func(total int64) io.Writer {
			if bar = newBar(stderr, total, "backing up"); bar == nil {
				return nil
			}
			return bar
		}})
	finishBar(bar, err == nil)
	if err = finish(err); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "backed up %s to %s: the database (%s) and %s (%s)\n", data, out,
		humanize.IBytes(uint64(sum.DatabaseBytes)), plural(sum.Blobs, "blob"), humanize.IBytes(uint64(sum.BlobBytes)))
	return nil
}

// runRemoteBackup saves the backup a server writes of its own data directory.
func runRemoteBackup(cmd *cobra.Command, out string) error {
	server, _ := cmd.Flags().GetString("server")
	token, _ := cmd.Flags().GetString("token")
	r := &remote{Server: server, Token: token}
	w, _, finish, err := backupTarget(cmd, out)
	if err != nil {
		return err
	}
	resp, err := r.client(cmd).Do(cmd.Context(), http.MethodGet, httpapi.BackupPath, nil, http.Header{"Accept": {"application/x-tar"}})
	if err != nil {
		return finish(err)
	}
	defer resp.Body.Close()
	bar := newBar(cmd.ErrOrStderr(), -1, "backing up")
	n, err := io.Copy(withBar(w, bar), resp.Body)
	finishBar(bar, err == nil)
	if err != nil {
		err = fmt.Errorf("the server's backup stopped after %s: %w", humanize.IBytes(uint64(n)), err)
	}
	if err := finish(err); err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "backed up %s to %s: %s\n", server, out, humanize.IBytes(uint64(n)))
	return nil
}

// backupTarget opens where the archive goes: stdout, or a temporary file beside out
// that finish renames to out once the backup is complete (and removes otherwise).
// The database snapshot is made in tempDir, on out's file system.
func backupTarget(cmd *cobra.Command, out string) (w io.Writer, tempDir string, finish func(error) error, err error) {
	if out == "-" {
		stdout := cmd.OutOrStdout()
		if isTerminal(stdout) {
			return nil, "", nil, errors.New("refusing to write a tar archive to a terminal: give -o FILE, or redirect stdout")
		}
		return stdout, "", func(err error) error { return err }, nil
	}
	if _, err := os.Lstat(out); err == nil {
		return nil, "", nil, fmt.Errorf("%s exists: restkit backup never overwrites a file; remove it or choose another -o", out)
	}
	dir := filepath.Dir(out)
	f, err := os.CreateTemp(dir, "."+filepath.Base(out)+".partial-")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, "", nil, fmt.Errorf("cannot write the backup to %s: %v", out, err)
	}
	finish = func(err error) error {
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(f.Name(), out)
		}
		if err != nil {
			_ = os.Remove(f.Name())
			return fmt.Errorf("the backup failed, and %s was not written: %w", out, err)
		}
		return nil
	}
	return f, dir, finish, nil
}

func newRestoreCmd() *cobra.Command {
	var c storeFlags
	cmd := &cobra.Command{
		Use:   "restore FILE --data NEWDIR",
		Short: "Restore a backup into a new or empty data directory, checking every sum first",
		Long: `Restore the backup FILE (- for stdin) into NEWDIR, which must not exist or be
empty. Every member is checked against the backup's manifest of sha256 sums
before anything is moved into place: a truncated, altered or foreign archive is
refused, saying what is wrong, and NEWDIR is left as it was. NEWDIR is locked
like a served one meanwhile. Serve it afterwards with restkit serve --data NEWDIR.`,
		Example: `  restkit restore restkit-2026-05-01.tar --data ./restored`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c.resolve(cmd)
			if !cmd.Flags().Changed("data") && os.Getenv("RESTKIT_DATA") == "" {
				return errors.New("restore needs --data NEWDIR: the new or empty directory to restore into")
			}
			return runRestore(cmd, args[0], c.Data)
		},
	}
	c.add(cmd, false)
	return cmd
}

func runRestore(cmd *cobra.Command, file, data string) error {
	var in io.Reader = cmd.InOrStdin()
	var bar *progressbar.ProgressBar
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			if bar = newBar(cmd.ErrOrStderr(), fi.Size(), "restoring"); bar != nil {
				in = io.TeeReader(f, bar)
			}
		}
	}
	sum, err := backup.Restore(cmd.Context(), in, data)
	finishBar(bar, err == nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "restored %s into %s: the database (%s) and %s (%s), every sum checked\n", file, data,
		humanize.IBytes(uint64(sum.DatabaseBytes)), plural(sum.Blobs, "blob"), humanize.IBytes(uint64(sum.BlobBytes)))
	return nil
}

func newVerifyCmd() *cobra.Command {
	var c storeFlags
	cmd := &cobra.Command{
		Use:   "verify [--data DIR | --postgres URL] [--s3 URL]",
		Short: "Re-hash every blob the database references and report those missing or corrupt",
		Long: `Read every blob that an artefact version references, hash it and compare its
sha256 and size with the metadata. Each blob missing or corrupt is printed on
one line; the exit status is 1 when there is any. It works on a live
deployment: SQLite and files under --data, or PostgreSQL (--postgres) with S3
(--s3) or files, as serve takes them.`,
		Example: `  restkit verify --data ./restkit-data
  restkit verify --postgres postgres://restkit@db/restkit --s3 s3://KEY:SECRET@s3.internal:9000/artefacts`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.resolve(cmd)
			return runVerify(cmd, &c)
		},
	}
	c.add(cmd, true)
	return cmd
}

func runVerify(cmd *cobra.Command, c *storeFlags) error {
	ctx := cmd.Context()
	meta, err := c.openMeta(ctx)
	if err != nil {
		return err
	}
	defer meta.Close()
	blobs, err := c.openBlobs(ctx)
	if err != nil {
		return err
	}
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	var bar *progressbar.ProgressBar
	rep, err := backup.Verify(ctx, meta, blobs, backup.VerifyOptions{
		OnProblem: func(p backup.Problem) {
			if bar != nil {
				_ = bar.Clear()
			}
			fmt.Fprintln(stdout, p.String())
		},
		Progress: func(total int64) io.Writer {
			if bar = newBar(stderr, total, "verifying"); bar == nil {
				return nil
			}
			return bar
		},
	})
	finishBar(bar, err == nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "verified %s (%s): ", plural(rep.Blobs, "blob"), humanize.IBytes(uint64(rep.Bytes)))
	if rep.OK() {
		fmt.Fprintln(stdout, "all sound")
		return nil
	}
	fmt.Fprintf(stdout, "%d missing, %d corrupt\n", rep.Missing, rep.Corrupt)
	return exitError(1)
}

// plural writes a count and a noun: "1 blob", "2 blobs".
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
