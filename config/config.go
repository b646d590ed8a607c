package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/restkit/restkit"
)

//go:embed demo.yaml
var demo []byte

// Demo returns the embedded demo configuration's YAML bytes (a copy: the caller may
// change them).
func Demo() []byte { return bytes.Clone(demo) }

// Config is a whole configuration file.
type Config struct {
	Server    Server          // the optional server: section
	Schema    *restkit.Schema // prepared: Schema.Prepare has already succeeded
	Artefacts *Artefacts      // the optional artefacts: section; nil when the file has none
	// TrustedProxies (ratelimit.trusted_proxies) are the reverse proxies whose
	// X-Forwarded-For names the client. The rate limits themselves are on the Schema,
	// its APIs and its resources (restkit.Schema.RateLimitAt).
	TrustedProxies []netip.Prefix
	// Events is the events: section: how long the change log keeps events, and how
	// streams keep idle connections alive (events.go).
	Events Events
	// DisableUI (ui: false at the top level) turns the web console at /ui/ off; it is
	// on by default.
	DisableUI bool
	// Webhooks is the webhooks: section (webhooks.go); nil when the file has none.
	Webhooks *Webhooks
}

// Server is the optional server: section. Every setting is optional; command-line
// flags and the environment override it.
type Server struct {
	Addr      string // addr: listen address, e.g. 127.0.0.1:8080
	Data      string // data: the data directory
	LogFormat string // log_format: text or json
	Debug     bool   // debug: log every request and decision
	// ReadHeaderTimeout (read_header_timeout) bounds how long a client may take to send
	// a request's headers; 0 is unset.
	ReadHeaderTimeout time.Duration
	// MinUploadRate (min_upload_rate, bytes per second, 0 to turn it off) is the average
	// rate a request body must keep after UploadGrace (upload_grace; 0 is unset).
	MinUploadRate    int64
	MinUploadRateSet bool // min_upload_rate was given (0 included)
	UploadGrace      time.Duration
	// CORS (cors) is the allow-list of browser origins; nil leaves CORS off.
	CORS *CORS
	// TLSCert and TLSKey (tls_cert, tls_key) are PEM files to serve HTTPS with.
	TLSCert, TLSKey string
	// InsecurePublic (insecure_public) allows a non-loopback address without auth.
	InsecurePublic bool
}

// CORS is the server's cors: section.
type CORS struct {
	Origins []string // origins: exact origins allowed, such as https://app.example
	Methods []string // methods: verbs allowed cross-origin; empty: each route's own
	Headers []string // headers: request headers allowed (default Content-Type, If-Match, If-None-Match, Authorization)
	MaxAge  int      // max_age: seconds a browser may cache a preflight (default 600)
}

// Load reads and parses the configuration file at path. A file that cannot be read
// gives the *os.PathError (which names the path); anything else is as Parse.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse reads a configuration from data; filename is used only in error positions.
// It returns either a Config whose Schema is prepared, or Errors listing every
// problem found (YAML syntax, unknown keys, values of the wrong type, and each
// failure of restkit.Schema.Prepare), each at its line and column.
func Parse(filename string, data []byte) (*Config, error) {
	d := newDecoder(filename)
	m := d.parseYAML(data)
	if m == nil {
		if len(d.errs) == 0 { // not expected: every way to nil reports why
			d.errorAt(pos{1, 1}, "the configuration could not be read")
		}
		return nil, sortErrors(d.errs)
	}
	c := d.document(m)
	if d.tooLarge {
		return nil, sortErrors(d.errs)
	}
	if err := c.Schema.Prepare(); err != nil {
		d.prepareErrors(err)
	}
	d.artefactsCollisions(c.Artefacts, c.Schema) // after Prepare, which normalises each API's base
	d.webhookEvents(c)
	if len(d.errs) > 0 {
		return nil, sortErrors(d.errs)
	}
	c.DisableUI = d.disableUI
	return c, nil
}

// parseYAML parses data to the mapping at the top of its one document, or reports
// why it cannot and returns nil.
func (d *decoder) parseYAML(data []byte) *ast.MappingNode {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	f, err := parseBytes(data)
	if err != nil {
		d.syntaxError(err)
		return nil
	}
	var body ast.Node
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if body != nil {
			d.errorAt(posOf(doc.Body), "a configuration is one YAML document; this is a second one")
			return nil
		}
		body = doc.Body
	}
	if _, null := body.(*ast.NullNode); body == nil || null {
		d.errorAt(pos{1, 1}, "the configuration is empty: it needs at least an apis list")
		return nil
	}
	d.collectAnchors(body)
	n := d.resolve(body)
	m, ok := n.(*ast.MappingNode)
	if !ok {
		if n != nil {
			d.errorAt(posOf(body), "the configuration must be a mapping with apis (and optionally server and artefacts), not %s", describe(n))
		}
		return nil
	}
	return m
}

// parseBytes runs the YAML parser, turning a panic on hostile input into an error.
func parseBytes(data []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("the YAML parser failed on this input")
		}
	}()
	// Duplicate keys are allowed here so that the decoder can report each with both lines.
	return parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
}

// syntaxError reports a YAML parse error as one line at its token, without the
// source excerpt the parser's own message carries.
func (d *decoder) syntaxError(err error) {
	at := pos{1, 1}
	msg := err.Error()
	var ye yaml.Error
	if errors.As(err, &ye) {
		msg = ye.GetMessage()
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			at = pos{max(tk.Position.Line, 1), max(tk.Position.Column, 1)}
		}
	}
	msg, _, _ = strings.Cut(strings.TrimSpace(msg), "\n")
	d.errorAt(at, "YAML syntax error: %s", clipN(msg, 200))
}
