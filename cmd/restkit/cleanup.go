package main

import (
	"fmt"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"
)

func newCleanupCmd(r *remote) *cobra.Command {
	var dry bool
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Run the artefact cleanup policies now (--dry-run: only say what would go)",
		Long: `Run the server's artefact cleanup policies (artefacts.cleanup in its config)
now, as the server does every hour. With --dry-run nothing is deleted: the
versions that would go are printed, one a line, and the bytes that would be
freed. Needs an admin role (without auth, the server answers loopback clients
only).`,
		Example: `  restkit cleanup --dry-run
  restkit cleanup --server https://artefacts.example --token "$KEY"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := r.client(cmd).Cleanup(cmd.Context(), dry)
			if err != nil {
				return report(cmd, err)
			}
			w := cmd.OutOrStdout()
			if rep.Skipped {
				fmt.Fprintln(w, "another cleanup is running; nothing was done")
				return nil
			}
			verb, would := "deleted", ""
			if rep.DryRun {
				verb, would = "would delete", "would be "
			}
			for _, v := range rep.Versions {
				fmt.Fprintf(w, "%s %s/%s version %d (%s)\n", verb, v.Directory, v.ID, v.Version, humanize.IBytes(uint64(max(v.Size, 0))))
			}
			fmt.Fprintf(w, "%d versions; %s (%d bytes) %sfreed\n", rep.Count, humanize.IBytes(uint64(max(rep.BytesFreed, 0))), rep.BytesFreed, would)
			return nil
		},
	}
	cmd.Flags().BoolVar(&dry, "dry-run", false, "print what would be deleted and the bytes that would be freed; delete nothing")
	return cmd
}
