package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/client"
)

// lsConfig holds ls's flags.
type lsConfig struct {
	Prefix    string
	Sort      string
	Format    string
	Recursive bool
}

func newLsCmd(r *remote) *cobra.Command {
	c := lsConfig{Format: formatAuto}
	cmd := &cobra.Command{
		Use:   "ls [DIR]",
		Short: "List the directories, or the subdirectories and artefacts of a directory",
		Long: `Without DIR, list the repository's top-level directories (name, artefacts,
size, last update of everything below them). With DIR (a path: org/app), list
its subdirectories (ending in /) and the latest version of each artefact in it,
every page of it; with -R, walk every directory below it too.

` + formatHelp,
		Example: `  restkit ls
  restkit ls releases --prefix app- --sort -updated
  restkit ls -R org/app
  restkit ls releases | jq -r .id`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := ""
			if len(args) == 1 {
				dir = args[0]
			}
			return report(cmd, runLs(cmd, r, &c, dir))
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.Prefix, "prefix", "", "only the artefacts whose id starts with this (needs DIR)")
	f.StringVar(&c.Sort, "sort", "", "order: name (default), updated or size; -updated etc. for descending (needs DIR)")
	f.StringVar(&c.Format, "format", formatAuto, "output: auto, table or json (JSON lines)")
	f.BoolVarP(&c.Recursive, "recursive", "R", false, "walk the subdirectories too (needs DIR)")
	return cmd
}

func runLs(cmd *cobra.Command, r *remote, c *lsConfig, dir string) error {
	table, err := tableOutput(cmd, c.Format)
	if err != nil {
		return err
	}
	cl := r.client(cmd)
	w := cmd.OutOrStdout()
	if dir != "" {
		return walk(cmd, cl, c, strings.TrimSuffix(dir, "/"), table)
	}
	if c.Prefix != "" || c.Sort != "" || c.Recursive {
		return errors.New("--prefix, --sort and -R list a directory: give DIR")
	}
	dirs, err := cl.Directories(cmd.Context())
	if err != nil {
		return err
	}
	if !table {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, d := range dirs {
			if err := enc.Encode(client.NewDirectoryJSON(d)); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DIRECTORY\tARTEFACTS\tSIZE\tUPDATED")
	for _, d := range dirs {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", d.Name, d.Artefacts, humanize.IBytes(uint64(max(d.Size, 0))), when(d.Updated))
	}
	return tw.Flush()
}

// walk lists dir: its subdirectories and artefacts, and with -R every directory below
// it, each under a heading (a table) or as JSON lines whose directories are
// {"type":"directory","path":…}.
func walk(cmd *cobra.Command, cl *client.Client, c *lsConfig, dir string, table bool) error {
	entries, err := cl.ListEntries(cmd.Context(), dir, client.ListOptions{Prefix: c.Prefix, Sort: c.Sort})
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	var arts []*restkit.Artefact
	var subdirs []string
	for _, e := range entries {
		if e.Artefact != nil {
			arts = append(arts, e.Artefact)
		} else {
			subdirs = append(subdirs, e.Dir)
		}
	}
	if table {
		if c.Recursive {
			fmt.Fprintf(w, "%s/:\n", dir)
		}
		for _, d := range subdirs {
			fmt.Fprintf(w, "%s/\n", d[strings.LastIndexByte(d, '/')+1:])
		}
		if len(arts) > 0 {
			if err := printArtefacts(w, arts, true, true); err != nil {
				return err
			}
		}
	} else {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, d := range subdirs {
			if err := enc.Encode(map[string]string{"type": "directory", "path": d}); err != nil {
				return err
			}
		}
		if err := printArtefacts(w, arts, false, true); err != nil {
			return err
		}
	}
	if c.Recursive {
		sub := *c
		sub.Prefix = "" // a prefix chooses among dir's own entries
		for _, d := range subdirs {
			if table {
				fmt.Fprintln(w)
			}
			if err := walk(cmd, cl, &sub, d, table); err != nil {
				return err
			}
		}
	}
	return nil
}
