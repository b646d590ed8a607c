package config

import (
	"fmt"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"github.com/restkit/restkit/webhook"
)

// Webhooks is the webhooks: section (DESIGN §12): where the change log's events are
// delivered, signed, and which loopback or private destinations may receive them.
type Webhooks struct {
	// AllowHosts (allow_hosts) are host names, IP addresses and CIDR prefixes that
	// webhooks may reach although they are loopback, private or otherwise not public;
	// other such destinations are refused when connecting.
	AllowHosts []string
	// Endpoints (endpoints) are the receivers, in file order.
	Endpoints []webhook.Endpoint
}

var (
	webhooksKeys = []string{"allow_hosts", "endpoints"}
	endpointKeys = []string{"url", "events", "secret", "headers"}
)

// WebhookEvents lists the event types some endpoint receives (webhook.EventTypes):
// what the OpenAPI document's webhooks and /docs describe. None without webhooks.
func (c *Config) WebhookEvents() []string {
	if c.Webhooks == nil {
		return nil
	}
	return webhook.EventTypes(c.Schema, c.Artefacts != nil, c.Webhooks.Endpoints)
}

// webhooks reads the webhooks: section; null is no webhooks. The names in events are
// checked after Prepare (webhookEvents), when the declarations are known.
func (d *decoder) webhooks(e entry) *Webhooks {
	d.recKey("webhooks", e)
	if e.isNull() {
		return nil
	}
	es, ok := d.mapping(e.value, e.at(), "webhooks", "in webhooks", webhooksKeys)
	if !ok {
		d.flagged["webhooks"] = true
		return nil
	}
	w := &Webhooks{}
	for _, s := range es {
		p := "webhooks." + s.key
		d.rec(p, s)
		switch s.key {
		case "allow_hosts":
			w.AllowHosts = d.list(s, p, s.key, "a host name, an IP address or a CIDR prefix")
			var allow webhook.AllowList
			for i, it := range d.items[p] {
				if err := allow.Add(it.text); err != nil {
					d.errorAt(it.at, "allow_hosts[%d] %v, not %q", i, err, clip(it.text))
				}
			}
		case "endpoints":
			w.Endpoints = d.endpoints(s, p)
		}
	}
	return w
}

// endpoints reads the list of webhook endpoints.
func (d *decoder) endpoints(e entry, path string) []webhook.Endpoint {
	if e.isNull() {
		return nil
	}
	seq, ok := e.value.(*ast.SequenceNode)
	if !ok {
		d.fail(path, e.at(), "endpoints must be a list of endpoints such as {url: https://hooks.example/restkit, events: [cars.*], secret: whsec_…}, not %s", describe(e.value))
		return nil
	}
	var out []webhook.Endpoint
	urls := map[string]pos{}
	for i, raw := range seq.Values {
		if !d.spend() {
			break
		}
		name := fmt.Sprintf("endpoints[%d]", i)
		p := fmt.Sprintf("%s[%d]", path, i)
		d.at[p] = posOf(raw)
		es, ok := d.mapping(d.resolve(raw), posOf(raw), name, "in webhooks."+name, endpointKeys)
		if !ok {
			continue
		}
		ep := d.endpoint(es, p)
		if first, dup := urls[ep.URL]; dup && ep.URL != "" {
			d.errorAt(d.at[p+".url"], "url %q is already the url of an endpoint at line %d; list all its events in that one", clip(ep.URL), first.line)
		} else if ep.URL != "" {
			urls[ep.URL] = d.at[p+".url"]
		}
		for _, missing := range []struct{ key, want string }{
			{"url", "url: where to POST deliveries, such as https://hooks.example/restkit"},
			{"events", "events: the event types to deliver, such as [cars.created, led.*]"},
			{"secret", "secret: whsec_ and a base64 key of 24 to 64 bytes (openssl rand -base64 32 makes a key)"},
		} {
			if _, set := d.at[p+"."+missing.key]; !set {
				d.errorAt(posOf(raw), "webhooks.%s needs %s", name, missing.want)
			}
		}
		out = append(out, ep)
	}
	return out
}

// endpoint reads one endpoint's settings. Each setting given records its position
// (d.at), which endpoints reads to report the ones missing.
func (d *decoder) endpoint(es []entry, p string) webhook.Endpoint {
	var ep webhook.Endpoint
	for _, s := range es {
		sp := p + "." + s.key
		if s.isNull() {
			continue // as if absent: reported as missing when required
		}
		d.rec(sp, s)
		switch s.key {
		case "url":
			v, ok := d.str(s, sp)
			if err := webhook.CheckURL(v); ok && err != nil {
				d.fail(sp, s.at(), "url %v, not %q", err, clip(v))
			} else if ok {
				ep.URL = v
			}
		case "events":
			ep.Events = d.list(s, sp, s.key, "an event type such as cars.created or cars.*")
			if ep.Events != nil && len(ep.Events) == 0 {
				d.fail(sp, s.at(), "events must name at least one event type, such as cars.created or cars.*")
			}
		case "secret":
			v, ok := d.str(s, sp)
			if _, err := webhook.ParseSecret(v); ok && err != nil {
				d.fail(sp, s.at(), "secret %v", err) // the message never quotes the secret
			} else if ok {
				ep.Secret = v
			}
		case "headers":
			ep.Headers = d.headers(s, sp)
		}
	}
	return ep
}

// headers reads an endpoint's extra headers: a mapping of names to values.
func (d *decoder) headers(e entry, path string) map[string]string {
	es, ok := d.mapping(e.value, e.at(), "headers", "in "+path, nil)
	if !ok {
		d.flagged[path] = true
		return nil
	}
	out := map[string]string{}
	seen := map[string]pos{}
	for _, h := range es {
		hp := path + "." + h.key
		v, ok := d.str(h, hp)
		if !ok {
			continue
		}
		if first, dup := seen[strings.ToLower(h.key)]; dup {
			d.errorAt(h.keyAt, "header %s repeats the one at line %d (header names ignore case)", clip(h.key), first.line)
			continue
		}
		seen[strings.ToLower(h.key)] = h.keyAt
		if err := webhook.CheckHeader(h.key, v); err != nil {
			d.errorAt(h.keyAt, "%v", err)
			continue
		}
		out[h.key] = v
	}
	return out
}

// webhookEvents checks every endpoint's event patterns against the declarations,
// each error at the pattern it is about.
func (d *decoder) webhookEvents(c *Config) {
	if c.Webhooks == nil || d.tooLarge {
		return
	}
	names := webhook.Names(c.Schema, c.Artefacts != nil)
	for path, items := range d.items {
		if !strings.HasPrefix(path, "webhooks.endpoints[") || !strings.HasSuffix(path, "].events") {
			continue
		}
		for i, it := range items {
			if err := webhook.CheckPattern(it.text, names); err != nil {
				d.errorAt(it.at, "events[%d] %q %v", i, clip(it.text), err)
			}
		}
	}
}
