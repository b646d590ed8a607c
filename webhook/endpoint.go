package webhook

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/restkit/restkit"
)

// Endpoint is one receiver of webhooks: where deliveries go, which event types it
// wants, the secret they are signed with and extra headers sent with each.
type Endpoint struct {
	// URL is an absolute http or https URL without user information.
	URL string
	// Events are patterns of event types: "cars.created", "cars.*" (created, updated
	// and deleted), "*" (every type); see Match.
	Events []string
	// Secret is the Standard Webhooks signing secret: "whsec_" and the base64 of a
	// key of 24 to 64 bytes (ParseSecret).
	Secret string
	// Headers are sent with every delivery; none may be one restkit sets itself
	// (ReservedHeader).
	Headers map[string]string
}

// ID names the endpoint in server state, metrics and the admin API: a hash of its
// URL, stable across restarts and the same on every node.
func (e Endpoint) ID() string {
	sum := sha256.Sum256([]byte(e.URL))
	return hex.EncodeToString(sum[:6])
}

// Ops are the operations an event type ends in, in the order types are listed.
var Ops = []restkit.EventOp{restkit.Created, restkit.Updated, restkit.Deleted}

// ArtefactsName is the name of the artefact repository in event types:
// artefacts.created, artefacts.deleted.
const ArtefactsName = "artefacts"

// Secret sizes, per the Standard Webhooks specification ("Signature scheme").
const (
	SecretPrefix   = "whsec_"
	MinSecretBytes = 24
	MaxSecretBytes = 64
)

// ParseSecret decodes a Standard Webhooks secret ("whsec_" and standard base64 with
// padding) into the HMAC key. The error says what is wrong in words fit for a
// config message.
func ParseSecret(s string) ([]byte, error) {
	b64, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok {
		return nil, fmt.Errorf("must start with %s (Standard Webhooks), followed by a base64 key of %d to %d bytes", SecretPrefix, MinSecretBytes, MaxSecretBytes)
	}
	key, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("must be %s followed by standard base64 (with = padding), such as the output of openssl rand -base64 32", SecretPrefix)
	}
	if len(key) < MinSecretBytes || len(key) > MaxSecretBytes {
		return nil, fmt.Errorf("holds a key of %d bytes; it must be %d to %d bytes", len(key), MinSecretBytes, MaxSecretBytes)
	}
	return key, nil
}

// CheckURL says what makes u unfit as an endpoint URL, or returns nil.
func CheckURL(u string) error {
	p, err := url.Parse(u)
	switch {
	case err != nil || !p.IsAbs() || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.Opaque != "":
		return fmt.Errorf("must be an absolute http or https URL such as https://hooks.example/restkit")
	case p.User != nil:
		return fmt.Errorf("must not carry a user name or password: send credentials in headers")
	case p.Fragment != "" || strings.Contains(u, "#"):
		return fmt.Errorf("must not have a fragment (#…): it is never sent")
	case p.Hostname() == "":
		return fmt.Errorf("must name a host")
	}
	return nil
}

// CheckPattern says what is wrong with an event pattern, or returns nil. A pattern is
// "*", or a name and an operation: "cars.created", "cars.updated", "cars.deleted",
// "cars.*". names are the names events can have (Names: the resources, the nouns,
// and artefacts when the repository is served); the error for another name lists them.
func CheckPattern(p string, names []string) error {
	if p == "*" {
		return nil
	}
	name, op, ok := strings.Cut(p, ".")
	if !ok || name == "" {
		return fmt.Errorf("must be NAME.OP (such as cars.created or cars.*) or *")
	}
	if op != "*" && !slices.Contains(Ops, restkit.EventOp(op)) {
		return fmt.Errorf("must end in .created, .updated, .deleted or .*")
	}
	if !slices.Contains(names, name) {
		if len(names) == 0 {
			return fmt.Errorf("names %s, but the configuration declares no resource or noun", name)
		}
		return fmt.Errorf("names %s, which is no resource or noun here; events come from %s", name, strings.Join(names, ", "))
	}
	return nil
}

// Match reports whether an event type ("cars.created") matches a pattern.
func Match(pattern, typ string) bool {
	if pattern == "*" || pattern == typ {
		return true
	}
	name, ok := strings.CutSuffix(pattern, ".*")
	return ok && strings.HasPrefix(typ, name+".") && !strings.Contains(typ[len(name)+1:], ".")
}

// matchesAny reports whether typ matches one of patterns.
func matchesAny(patterns []string, typ string) bool {
	for _, p := range patterns {
		if Match(p, typ) {
			return true
		}
	}
	return false
}

// reserved are the request headers a delivery sets itself, or that frame the
// request: an endpoint's headers may not name them.
var reserved = []string{"webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "content-length", "host",
	"connection", "transfer-encoding", "te", "trailer", "upgrade", "keep-alive"}

// ReservedHeader reports whether name (any case) is a header an endpoint may not set.
func ReservedHeader(name string) bool { return slices.Contains(reserved, strings.ToLower(name)) }

// CheckHeader says what is wrong with one of an endpoint's headers, or returns nil.
func CheckHeader(name, value string) error {
	switch {
	case !isToken(name):
		return fmt.Errorf("header name %q is not an HTTP token", name)
	case ReservedHeader(name):
		return fmt.Errorf("header %s is set by restkit for each delivery and cannot be configured", name)
	case strings.ContainsFunc(value, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }):
		return fmt.Errorf("the value of header %s holds a control character", name)
	}
	return nil
}

// isToken reports whether s is an HTTP token (RFC 9110 §5.6.2).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

// Names are the names event types of s can start with, in declaration order without
// repeats: its resources and nouns, then artefacts when the repository is served.
func Names(s *restkit.Schema, artefacts bool) []string {
	var out []string
	add := func(n string) {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	for _, api := range s.APIs {
		for _, r := range api.Resources {
			add(r.Name)
		}
		for _, n := range api.Nouns {
			add(n.Name)
		}
	}
	if artefacts {
		add(ArtefactsName)
	}
	return out
}

// EventTypes lists the event types that some endpoint's patterns match, in the order
// of Names and Ops: what the OpenAPI document's webhooks and /docs describe. A noun is
// never deleted (DELETE resets it, which is an update), so noun.deleted is left out.
func EventTypes(s *restkit.Schema, artefacts bool, endpoints []Endpoint) []string {
	var out []string
	for _, name := range Names(s, artefacts) {
		for _, op := range Ops {
			typ := name + "." + string(op)
			if !possible(s, name, op) {
				continue
			}
			for _, e := range endpoints {
				if matchesAny(e.Events, typ) {
					out = append(out, typ)
					break
				}
			}
		}
	}
	return out
}

// possible reports whether an event of name and op can happen.
func possible(s *restkit.Schema, name string, op restkit.EventOp) bool {
	for _, api := range s.APIs {
		for _, r := range api.Resources {
			if r.Name == name {
				return true
			}
		}
		for _, n := range api.Nouns {
			if n.Name == name && op != restkit.Deleted {
				return true
			}
		}
	}
	return name == ArtefactsName
}
