package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/artefact"
	"github.com/restkit/restkit/auth"
	"github.com/restkit/restkit/config"
	"github.com/restkit/restkit/httpapi"
	"github.com/restkit/restkit/memory"
	"github.com/restkit/restkit/metrics"
)

// newHashPasswordCmd prints the bcrypt hash of a password for auth.users. The password
// is read from the terminal without echo, or from standard input (one line), never
// from an argument: arguments end up in shell history and in ps.
func newHashPasswordCmd() *cobra.Command {
	var cost int
	c := &serveConfig{}
	cmd := &cobra.Command{
		Use:   "hash-password [--config F | --cost N]",
		Short: "Print the bcrypt hash of a password (read from the terminal or stdin) for auth.users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("config") {
				if cmd.Flags().Changed("cost") {
					return errors.New("--config and --cost both set the cost: give one")
				}
				cfg, _, err := c.loadConfig(cmd)
				if err != nil {
					return err
				}
				if cfg.Schema.Auth == nil {
					return fmt.Errorf("%s has no auth: section", c.ConfigPath)
				}
				cost = cfg.Schema.Auth.BcryptCost
			}
			pw, err := readPassword(cmd)
			if err != nil {
				return err
			}
			h, err := auth.HashPassword(pw, cost)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), h)
			return nil
		},
	}
	cmd.Flags().IntVar(&cost, "cost", restkit.DefaultBcryptCost, "bcrypt cost (4-31); each step doubles the time a check takes")
	cmd.Flags().StringVar(&c.ConfigPath, "config", "", "take the cost from this config's auth.bcrypt_cost")
	return cmd
}

func readPassword(cmd *cobra.Command) (string, error) {
	in := cmd.InOrStdin()
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(cmd.ErrOrStderr(), "password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// newCreateKeyCmd makes an API key. The key is printed once, on stdout; what the
// config keeps (its SHA-256) is printed as the YAML entry to add under auth.keys.
func newCreateKeyCmd() *cobra.Command {
	var user, id string
	var roles []string
	cmd := &cobra.Command{
		Use:   "create-key --user U [--role R]... [--id ID]",
		Short: "Make an API key: prints the key once, and the auth.keys entry (its SHA-256) to add to the config",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if user == "" {
				return errors.New("--user is required: the user the key acts as")
			}
			key, sum, err := auth.NewKey()
			if err != nil {
				return err
			}
			if id == "" {
				id = user + "-" + sum[:8]
			}
			entry := map[string]any{"id": id, "sha256": sum, "user": user}
			if len(roles) > 0 {
				entry["roles"] = roles
			}
			y, _ := json.Marshal(entry) // JSON is YAML's flow style
			fmt.Fprintln(cmd.OutOrStdout(), key)
			fmt.Fprintf(cmd.ErrOrStderr(), "\nThe key above is shown once; restkit keeps only its SHA-256.\nAdd this entry under auth.keys in the config and restart:\n\n  - %s\n\nThen: curl -H 'Authorization: Bearer %s…' …\n", y, key[:8])
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&user, "user", "", "the user the key acts as (declared under auth.users)")
	f.StringSliceVar(&roles, "role", nil, "a role the key has (repeat for several); default: the user's roles")
	f.StringVar(&id, "id", "", "the key's name in logs and audit lines (default: USER-<first 8 hex of its digest>)")
	return cmd
}

// newRoutesCmd prints every route a config serves and what decides who may use it.
func newRoutesCmd() *cobra.Command {
	c := &serveConfig{}
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "routes [--config F] [--json]",
		Short: "List the routes a config serves, their verbs and their access rule",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := c.loadConfig(cmd)
			if err != nil {
				return err
			}
			authority, err := newAuthority(cfg)
			if err != nil {
				return err
			}
			store := memory.New() // the routes need a migrated store, not its records
			if err := store.Migrate(cmd.Context(), cfg.Schema); err != nil {
				return err
			}
			opts := httpapi.Options{Schema: cfg.Schema, Store: store, Auth: authority, Metrics: metrics.New()}
			if cfg.Artefacts != nil {
				// The routes need only the repository's path and policy, not its storage.
				opts.ArtefactsPath = cfg.Artefacts.Path
				opts.Artefacts = artefactRoutesOnly(cfg)
			}
			if !cfg.DisableUI {
				opts.Console = http.NotFoundHandler() // its route, not its pages
			}
			h, err := httpapi.New(opts)
			if err != nil {
				return err
			}
			routes := h.Routes()
			if asJSON {
				out, _ := json.MarshalIndent(routes, "", "  ")
				fmt.Fprintln(cmd.OutOrStdout(), string(out))
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PATTERN\tMETHODS\tACCESS")
			for _, r := range routes {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Pattern, strings.Join(r.Methods, ","), r.Rule)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&c.ConfigPath, "config", "", "the config file (default: RESTKIT_CONFIG, else the built-in demo)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// newAuthority builds the authenticator of a config: nil when it has no auth: section.
func newAuthority(cfg *config.Config) (*auth.Authority, error) {
	a, err := auth.New(cfg.Schema, cfg.ArtefactAccess())
	if err != nil {
		return nil, fmt.Errorf("preparing authentication: %w", err)
	}
	return a, nil
}

// artefactRoutesOnly is a repository with no storage: enough to register its routes.
func artefactRoutesOnly(cfg *config.Config) *artefact.Repository {
	return artefact.New(artefact.Options{Policy: cfg.Artefacts.Policy})
}
