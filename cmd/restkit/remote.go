package main

// What the client commands (push, pull, ls, versions, rm) share: the server and
// token flags, DIR/ID arguments, error reports, progress bars and listings.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/client"
)

const defaultServer = "http://127.0.0.1:8080"

// remote is where the client commands send their requests: --server and --token,
// persistent flags of the root command.
type remote struct {
	Server string
	Token  string
}

// clientCommands adds --server and --token to root and returns the client commands.
func clientCommands(root *cobra.Command) []*cobra.Command {
	r := &remote{}
	f := root.PersistentFlags()
	f.StringVar(&r.Server, "server", defaultServer, "URL of the restkit server the client commands talk to (RESTKIT_SERVER)")
	f.StringVar(&r.Token, "token", "", "API key the client commands send as an Authorization: Bearer header (RESTKIT_TOKEN)")
	return []*cobra.Command{newPushCmd(r), newPullCmd(r), newLsCmd(r), newVersionsCmd(r), newRmCmd(r), newCleanupCmd(r), newCapabilityCmd(r)}
}

// client resolves the flags over the environment (a flag beats RESTKIT_SERVER and
// RESTKIT_TOKEN, which beat the default) and returns a client of the server.
func (r *remote) client(cmd *cobra.Command) *client.Client {
	server, token := r.Server, r.Token
	if !cmd.Flags().Changed("server") {
		if env := os.Getenv("RESTKIT_SERVER"); env != "" {
			server = env
		}
	}
	if !cmd.Flags().Changed("token") {
		token = os.Getenv("RESTKIT_TOKEN")
	}
	opts := []client.Option{client.WithUserAgent("restkit-cli")}
	if token != "" {
		opts = append(opts, client.WithToken(token))
	}
	return client.New(server, opts...)
}

// parseRef splits "DIR/ID" at its last slash: DIR may be a path of segments
// (org/app/1.2.0/app.tgz is the artefact app.tgz of org/app/1.2.0). With dirOK a bare
// "DIR" (no slash) is accepted too and gives id "", and so is "DIR/" (a trailing
// slash names the directory DIR, of any depth).
func parseRef(arg string, dirOK bool) (dir, id string, err error) {
	want := "DIR/ID"
	if dirOK {
		want = "DIR, DIR/ or DIR/ID"
	}
	if trimmed, ok := strings.CutSuffix(arg, "/"); ok && dirOK && trimmed != "" && !strings.Contains(arg, "//") {
		return trimmed, "", nil
	}
	i := strings.LastIndexByte(arg, '/')
	switch {
	case i < 0 && dirOK && arg != "":
		return arg, "", nil
	case i <= 0 || i == len(arg)-1 || strings.Contains(arg, "//"):
		return "", "", fmt.Errorf("%q: want %s: names separated by single slashes, the last one the artefact", arg, want)
	}
	return arg[:i], arg[i+1:], nil
}

// report prints err on stderr as `restkit: <message>` and one indented line per
// failing field, and returns the exit status 1 for main.
func report(cmd *cobra.Command, err error) error {
	if err == nil {
		return nil
	}
	w := cmd.ErrOrStderr()
	fmt.Fprintln(w, "restkit:", err)
	var e *restkit.Error
	if errors.As(err, &e) {
		for _, f := range e.Fields {
			fmt.Fprintf(w, "  %s: %s\n", f.Field, f.Message)
		}
	}
	return exitError(1)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newBar returns a progress bar of size bytes on w, or nil when w is not a
// terminal (a pipe, a file, a test): bars are for people watching.
func newBar(w io.Writer, size int64, desc string) *progressbar.ProgressBar {
	if !isTerminal(w) {
		return nil
	}
	return progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionSetWidth(20),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionShowCount(),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionFullWidth(),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
}

// withBar adds bar to w (a nil bar adds nothing).
func withBar(w io.Writer, bar *progressbar.ProgressBar) io.Writer {
	if bar == nil {
		return w
	}
	return io.MultiWriter(w, bar)
}

// finishBar completes bar, or leaves the line when the transfer stopped short.
func finishBar(bar *progressbar.ProgressBar, ok bool) {
	switch {
	case bar == nil:
	case ok:
		_ = bar.Finish()
	default:
		_ = bar.Exit() // keeps the bar where it stopped and ends its line
	}
}

// Listing formats.
const (
	formatAuto  = "auto"
	formatTable = "table"
	formatJSON  = "json"
)

const formatHelp = `Output: a table when stdout is a terminal, otherwise JSON lines (one JSON object
per line, the metadata as the server sends it) for scripts and jq; --format
table or --format json chooses.`

// tableOutput decides between a table and JSON lines.
func tableOutput(cmd *cobra.Command, format string) (bool, error) {
	switch format {
	case formatAuto:
		return isTerminal(cmd.OutOrStdout()), nil
	case formatTable:
		return true, nil
	case formatJSON:
		return false, nil
	}
	return false, fmt.Errorf("--format must be auto, table or json, not %q", format)
}

// printArtefacts lists artefact versions as a table (with an ID column when
// withID) or as JSON lines.
func printArtefacts(w io.Writer, arts []*restkit.Artefact, table, withID bool) error {
	if !table {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, a := range arts {
			if err := enc.Encode(client.NewArtefactJSON(a)); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if withID {
		fmt.Fprint(tw, "ID\t")
	}
	fmt.Fprintln(tw, "VERSION\tSIZE\tSHA256\tCONTENT TYPE\tUPDATED\tPROPERTIES")
	for _, a := range arts {
		if withID {
			fmt.Fprintf(tw, "%s\t", a.ID)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", a.Version, humanize.IBytes(uint64(max(a.Size, 0))),
			short(a.SHA256), a.ContentType, when(a.Updated), propertiesText(a.Properties))
	}
	return tw.Flush()
}

// propertiesText shows properties as k=v pairs, by key.
func propertiesText(props map[string]string) string {
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + props[k]
	}
	return strings.Join(keys, " ")
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
