package main

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/restkit/restkit/internal/datadir"
)

func newReloadCmd() *cobra.Command {
	var c storeFlags
	cmd := &cobra.Command{
		Use:   "reload [--data DIR]",
		Short: "Make the server of a data directory reload its config (SIGHUP to the pid holding DATA/lock)",
		Long: `Send SIGHUP to the restkit serve that holds the data directory's lock: it reads
its config file again and serves it without dropping a connection, or, when the
new config has errors, logs them with their line numbers and goes on serving the
old one. GET /_admin/config then shows the sha256 of the config being served.

Resources, nouns, fields, verbs, access rules, users and keys, rate limits,
capabilities, webhooks and CORS reload; the address, TLS files, data directory,
backends and the artefact repository (adding one, its path, limits, retention
and cleanup policies) need a restart.`,
		Example: `  restkit reload --data ./restkit-data
  curl -s localhost:8080/_admin/config`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.resolve(cmd)
			pid, reloads, err := datadir.ReloadableHolder(c.Data)
			switch {
			case err != nil:
				return fmt.Errorf("finding the server of %s: %w", c.Data, err)
			case pid == 0:
				return fmt.Errorf("no restkit serve holds %s: nothing to reload", c.Data)
			case !reloads: // SIGHUP would end it
				return fmt.Errorf("pid %d holds %s but does not reload on SIGHUP (it is not restkit serve: a program embedding restkit, or restkit migrate); nothing was sent", pid, c.Data)
			}
			p, err := os.FindProcess(pid)
			if err == nil {
				err = p.Signal(syscall.SIGHUP)
			}
			if err != nil {
				return fmt.Errorf("signalling pid %d: %w", pid, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "asked pid %d to reload; its log says how it went, and GET /_admin/config shows the config it serves\n", pid)
			return nil
		},
	}
	c.add(cmd, false)
	return cmd
}

// capabilityView is what GET /_admin/capabilities[/{name}] answers for one switch.
type capabilityView struct {
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Enabled     bool       `json:"enabled"`
	Default     bool       `json:"default"`
	Changed     *time.Time `json:"changed"`
	By          string     `json:"by"`
	UsedBy      []string   `json:"used_by"`
}

func newCapabilityCmd(r *remote) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "capability [NAME [on|off]]",
		Short: "List the capability switches, show one, or switch one on or off",
		Long: `Capability switches (capabilities: in the config) turn an API, a resource, a
noun, a verb or the artefact repository on and off while the server runs; the
built-in read_only refuses every write with 503. A switch is stored, so it
survives a restart and reaches every node sharing the store within a second.
Needs an admin role (without auth, the server answers loopback clients only).`,
		Example: `  restkit capability                 # every switch and its state
  restkit capability v2_people on
  restkit capability read_only on --server https://api.example --token "$ADMIN_KEY"`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := r.client(cmd)
			ctx := cmd.Context()
			var views []capabilityView
			switch len(args) {
			case 0:
				var list struct {
					Capabilities []capabilityView `json:"capabilities"`
				}
				if err := c.JSON(ctx, "GET", "/_admin/capabilities", nil, &list); err != nil {
					return report(cmd, err)
				}
				views = list.Capabilities
			case 1, 2:
				path := "/_admin/capabilities/" + url.PathEscape(args[0])
				var v capabilityView
				var err error
				if len(args) == 1 {
					err = c.JSON(ctx, "GET", path, nil, &v)
				} else {
					var on bool
					if on, err = parseOnOff(args[1]); err != nil {
						return err
					}
					var was capabilityView
					if err = c.JSON(ctx, "GET", path, nil, &was); err == nil {
						err = c.JSON(ctx, "PUT", path, map[string]bool{"enabled": on}, &v)
					}
					if err == nil && !asJSON {
						fmt.Fprintf(cmd.OutOrStdout(), "%s: %s → %s\n", v.Name, onOff(was.Enabled), onOff(v.Enabled))
						return nil
					}
				}
				if err != nil {
					return report(cmd, err)
				}
				views = []capabilityView{v}
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), views)
			}
			return printCapabilities(cmd.OutOrStdout(), views)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func parseOnOff(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "on", "true", "enable", "enabled":
		return true, nil
	case "off", "false", "disable", "disabled":
		return false, nil
	}
	return false, fmt.Errorf("the state must be on or off, not %q", s)
}

func printCapabilities(w io.Writer, views []capabilityView) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tDEFAULT\tCHANGED\tUSED BY")
	for _, v := range views {
		changed := "-"
		if v.Changed != nil {
			changed = when(*v.Changed) + " by " + v.By
		}
		used := "-"
		if len(v.UsedBy) > 0 {
			used = strings.Join(v.UsedBy, ", ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", v.Name, onOff(v.Enabled), onOff(v.Default), changed, used)
	}
	return tw.Flush()
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
