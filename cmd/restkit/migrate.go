package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/backup"
	"github.com/restkit/restkit/internal/datadir"
	"github.com/restkit/restkit/sqlite"
)

// migrateConfig holds migrate's flags.
type migrateConfig struct {
	storeFlags
	ConfigPath       string
	DryRun           bool
	AllowDestructive bool
}

func newMigrateCmd() *cobra.Command {
	var c migrateConfig
	cmd := &cobra.Command{
		Use:   "migrate [--config F] [--data DIR | --postgres URL] [--dry-run] [--allow-destructive]",
		Short: "Migrate the database to a config: print the plan, carry out destructive steps when allowed",
		Long: `Compare the database with the config and print the plan, one step a line:

  create  a table for a new resource
  add     a column for a new field (existing records take its default)
  rename  a field declared renamed_from another: its values and history follow
  drop    a removed field's column and values                     (destructive)
  retype  a field's values converted to its new type              (destructive)
  narrow  a field that allows fewer values; every value checked   (destructive)
  reset   a noun's stored value of a removed or narrowed field    (destructive)

--dry-run carries the plan out and rolls it back: every value that would be
converted or checked is, and what would be refused is. Without --dry-run the
plan is carried out in one transaction; destructive steps need
--allow-destructive, and values that do not convert or no longer fit are
refused with their count even then. Either way a refusal changes nothing.

serve applies the additive steps itself at start, and refuses to start on a
destructive change, pointing here. With SQLite, migrate takes the data
directory's lock, so it refuses while a server runs there; with PostgreSQL it
runs under the migration lock every node takes. No sqlite3 or psql is needed.`,
		Example: `  restkit migrate --config api.yaml --data ./restkit-data --dry-run
  restkit migrate --config api.yaml --data ./restkit-data --allow-destructive`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.resolve(cmd)
			return runMigrate(cmd, &c)
		},
	}
	c.add(cmd, false)
	f := cmd.Flags()
	f.StringVar(&c.Postgres, "postgres", "", "PostgreSQL URL, when the records are kept there (RESTKIT_POSTGRES)")
	f.StringVar(&c.ConfigPath, "config", "", "configuration file; the built-in demo when empty (RESTKIT_CONFIG)")
	f.BoolVar(&c.DryRun, "dry-run", false, "carry the plan out and roll it back: print what would be done and refused")
	f.BoolVar(&c.AllowDestructive, "allow-destructive", false, "carry out destructive steps too: drop, retype, narrow, reset")
	return cmd
}

func runMigrate(cmd *cobra.Command, c *migrateConfig) error {
	sc := serveConfig{ConfigPath: c.ConfigPath}
	cfg, _, err := sc.loadConfig(cmd)
	if err != nil {
		return err
	}
	store, where, release, err := openForMigrate(cmd, c)
	if err != nil {
		return err
	}
	defer release()
	steps, err := store.MigrateWith(cmd.Context(), cfg.Schema, restkit.MigrateOptions{DryRun: c.DryRun, AllowDestructive: c.AllowDestructive})
	out := cmd.OutOrStdout()
	printPlan(out, where, steps)
	if err != nil {
		if restkit.IsKind(err, restkit.Invalid) {
			fmt.Fprintln(cmd.ErrOrStderr(), "restkit: refused, and nothing was changed:")
			for _, line := range refusals(err) {
				fmt.Fprintln(cmd.ErrOrStderr(), "  "+line)
			}
			return exitError(1)
		}
		return err
	}
	destructive := 0
	for _, st := range steps {
		if st.Destructive {
			destructive++
		}
	}
	switch {
	case len(steps) == 0:
		fmt.Fprintln(out, "nothing to do: the database matches the config")
	case c.DryRun && destructive > 0 && !c.AllowDestructive:
		fmt.Fprintf(out, "dry run: nothing was changed; %s destructive: restkit migrate --allow-destructive carries them out\n", plural(int64(destructive), "step")+map[bool]string{true: " is", false: " are"}[destructive == 1])
	case c.DryRun:
		fmt.Fprintln(out, "dry run: nothing was changed; restkit migrate carries the plan out")
	default:
		fmt.Fprintf(out, "migrated: %s carried out\n", plural(int64(len(steps)), "step"))
	}
	return nil
}

// openForMigrate opens the store to migrate: PostgreSQL, or the SQLite database of
// the data directory under its lock (a server must not run on it meanwhile).
func openForMigrate(cmd *cobra.Command, c *migrateConfig) (metaStore, string, func(), error) {
	if c.Postgres != "" {
		s, err := openPostgres(cmd.Context(), c.Postgres)
		if err != nil {
			return nil, "", nil, err
		}
		return s, "PostgreSQL", func() { s.Close() }, nil
	}
	if err := backup.CheckData(c.Data); err != nil {
		return nil, "", nil, fmt.Errorf("%w: restkit serve makes one", err)
	}
	lock, err := datadir.Open(c.Data)
	if err != nil {
		var inUse *datadir.InUseError
		if errors.As(err, &inUse) {
			return nil, "", nil, fmt.Errorf("%w: migrate, dry runs included, needs the directory to itself", err)
		}
		return nil, "", nil, err
	}
	s, err := sqlite.Open(filepath.Join(c.Data, backup.DatabaseName))
	if err != nil {
		lock.Close()
		return nil, "", nil, fmt.Errorf("opening the database: %w", err)
	}
	return s, c.Data, func() { s.Close(); lock.Close() }, nil
}

func printPlan(w io.Writer, where string, steps []restkit.MigrationStep) {
	if len(steps) == 0 {
		return
	}
	fmt.Fprintf(w, "plan for %s:\n", where)
	for _, st := range steps {
		fmt.Fprintln(w, "  "+st.String())
	}
}

// refusals are the lines of a refusal: one per failing field.
func refusals(err error) []string {
	fields := restkit.ErrorFields(err)
	if len(fields) == 0 {
		return []string{restkit.ErrorMessage(err)}
	}
	lines := make([]string, len(fields))
	for i, f := range fields {
		lines[i] = f.Message
	}
	return lines
}
