package main

// The generic resource client: restkit get/post/put/patch/delete PATH [JSON].

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// genericCommands returns get, post, put, patch and delete. They read --server and
// --token, the root's persistent flags that clientCommands defines.
func genericCommands() []*cobra.Command {
	return []*cobra.Command{
		newGenericCmd(http.MethodGet, false, "Read a resource: a record, a list, a noun",
			`  restkit get /cars
  restkit get '/cars?color=red&sort=-year&limit=5'
  restkit get cars/1 -i
  restkit get /v1/people/fred`),
		newGenericCmd(http.MethodPost, true, "Create a record in a collection, or update a noun",
			`  restkit post /cars '{"id":1,"model":"Civic","color":"red","year":2010}'
  restkit post /cars @car.json
  echo '{"id":2,"model":"Golf","color":"blue"}' | restkit post /cars -
  restkit post /led`),
		newGenericCmd(http.MethodPut, true, "Replace a record (or create it where the resource allows)",
			`  restkit put /cars/1 '{"id":1,"model":"Civic","color":"blue","year":2011}'
  restkit put /v1/people/fred '{"email":"fred@example.com"}'
  restkit put /cars/1 @car.json -H 'If-Match: "3"'`),
		newGenericCmd(http.MethodPatch, true, "Change some fields of a record (JSON Merge Patch)",
			`  restkit patch /cars/1 '{"color":"green"}'
  restkit patch /cars/1 '{"year":null}' -H 'If-Match: "4"'`),
		newGenericCmd(http.MethodDelete, false, "Delete a record (or reset a noun)",
			`  restkit delete /cars/1
  restkit delete /cars/1 -H 'If-Match: "5"'`),
	}
}

const genericHelp = `PATH is relative to --server (RESTKIT_SERVER): "/cars", "cars/1" and
"/v1/people/fred?fields=email" all work; a leading slash is added when missing
and the query string is sent as given.

The response body goes to stdout: indented JSON when stdout is a terminal,
otherwise exactly as received (for jq and scripts); a 204 prints nothing.
-i/--include prints the status line and the headers first. A 4xx or 5xx prints
the problem's detail and each failing field on stderr and exits with status 1,
as does a server that cannot be reached.`

const genericBodyHelp = `

The body is literal JSON, @FILE to read it from a file, or - to read it from
stdin; it must be valid JSON, which is checked before anything is sent. It goes
as application/json (PATCH: application/merge-patch+json); without a body
nothing is sent.`

func newGenericCmd(method string, withBody bool, short, example string) *cobra.Command {
	var (
		include bool
		headers []string
	)
	use := strings.ToLower(method) + " PATH"
	args := cobra.ExactArgs(1)
	long := short + ".\n\n" + genericHelp
	if withBody {
		use += " [JSON|@FILE|-]"
		args = cobra.RangeArgs(1, 2)
		long += genericBodyHelp
	}
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Long:    long,
		Example: example,
		Args:    args,
		RunE: func(cmd *cobra.Command, args []string) error {
			return report(cmd, runGeneric(cmd, method, args, headers, include))
		},
	}
	cmd.Flags().BoolVarP(&include, "include", "i", false, "print the response's status line and headers before its body")
	cmd.Flags().StringArrayVarP(&headers, "header", "H", nil, `add a request header "Name: value" (repeatable), e.g. -H 'If-Match: "3"'`)
	return cmd
}

func runGeneric(cmd *cobra.Command, method string, args, headers []string, include bool) error {
	path, err := resourcePath(args[0])
	if err != nil {
		return err
	}
	h, err := parseHeaders(headers)
	if err != nil {
		return err
	}
	var body io.Reader
	if len(args) == 2 {
		b, err := readBody(args[1], cmd.InOrStdin())
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
		if h.Get("Content-Type") == "" {
			ct := "application/json"
			if method == http.MethodPatch {
				ct = "application/merge-patch+json"
			}
			h.Set("Content-Type", ct)
		}
	}
	if h.Get("Accept") == "" {
		h.Set("Accept", "application/json")
	}
	resp, err := remoteOf(cmd).client(cmd).Do(cmd.Context(), method, path, body, h)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return writeResponse(cmd.OutOrStdout(), resp, include, isTerminal(cmd.OutOrStdout()))
}

// remoteOf reads --server and --token from the root's persistent flags.
func remoteOf(cmd *cobra.Command) *remote {
	server, _ := cmd.Flags().GetString("server")
	token, _ := cmd.Flags().GetString("token")
	return &remote{Server: server, Token: token}
}

// resourcePath turns a PATH argument into a server path: a leading slash is added
// when missing; the query string is kept as given.
func resourcePath(arg string) (string, error) {
	if strings.TrimSpace(arg) == "" {
		return "", errors.New("PATH is empty: want a path on the server such as /cars or /cars/1")
	}
	if strings.HasPrefix(arg, "http://") || strings.HasPrefix(arg, "https://") {
		return "", fmt.Errorf("%q: PATH is relative to --server (for example /cars), not a full URL", arg)
	}
	if strings.ContainsAny(arg, " \t\r\n") {
		return "", fmt.Errorf("%q: PATH must not contain spaces (escape them as %%20)", arg)
	}
	if !strings.HasPrefix(arg, "/") {
		arg = "/" + arg
	}
	return arg, nil
}

// parseHeaders reads -H "Name: value" arguments.
func parseHeaders(args []string) (http.Header, error) {
	h := http.Header{}
	for _, a := range args {
		name, value, ok := strings.Cut(a, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("-H %q: want \"Name: value\"", a)
		}
		h.Add(name, strings.TrimSpace(value))
	}
	return h, nil
}

// readBody returns the body argument's bytes: literal JSON, @FILE or - for stdin,
// checked to be valid JSON.
func readBody(arg string, stdin io.Reader) ([]byte, error) {
	var (
		b    []byte
		from = "the body"
		err  error
	)
	switch {
	case arg == "-":
		from = "the body on stdin"
		b, err = io.ReadAll(stdin)
	case strings.HasPrefix(arg, "@"):
		from = "the body in " + arg[1:]
		if arg == "@" {
			return nil, errors.New("@FILE needs a file name after the @")
		}
		b, err = os.ReadFile(arg[1:])
	default:
		b = []byte(arg)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", from, err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("%s is empty: want JSON (leave the argument out to send no body)", from)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("%s is not valid JSON (%v); nothing was sent", from, err)
	}
	return b, nil
}

// writeResponse prints resp: with include the status line and headers, then the
// body, indented when pretty and it is JSON, else as received.
func writeResponse(w io.Writer, resp *http.Response, include, pretty bool) error {
	if include {
		fmt.Fprintf(w, "%s %s\n", resp.Proto, resp.Status)
		var hb bytes.Buffer
		if err := resp.Header.Write(&hb); err != nil {
			return err
		}
		// Header.Write ends lines with CRLF; a terminal wants LF.
		if _, err := io.WriteString(w, strings.ReplaceAll(hb.String(), "\r\n", "\n")+"\n"); err != nil {
			return err
		}
	}
	if resp.StatusCode == http.StatusNoContent || resp.Request.Method == http.MethodHead {
		return nil
	}
	if !pretty {
		_, err := io.Copy(w, resp.Body)
		return err
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") != nil {
		_, err = w.Write(b)
		return err
	}
	out.WriteByte('\n')
	_, err = w.Write(out.Bytes())
	return err
}
