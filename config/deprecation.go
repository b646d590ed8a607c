package config

import (
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/restkit/restkit"
)

// deprecationKeys are the settings of deprecated: on an API or a resource.
var deprecationKeys = []string{"since", "sunset", "successor"}

// deprecation reads deprecated: — true (deprecated, no dates, no successor), false or
// null (not deprecated), or a mapping of since, sunset (dates: 2027-06-30, or RFC
// 3339 date-times) and successor (a path such as /v2, or an absolute http(s) URL).
func (d *decoder) deprecation(e entry, path string) *restkit.Deprecation {
	if e.isNull() {
		return nil
	}
	if _, isMap := e.value.(*ast.MappingNode); !isMap {
		on, ok := d.boolean(e, path)
		if !ok || !on {
			return nil
		}
		return &restkit.Deprecation{}
	}
	es, ok := d.mapping(e.value, e.at(), path, "in "+path, deprecationKeys)
	if !ok {
		d.flagged[path] = true
		return nil
	}
	dep := &restkit.Deprecation{}
	for _, s := range es {
		p := path + "." + s.key
		d.rec(p, s)
		switch s.key {
		case "since":
			dep.Since = d.date(s, p)
		case "sunset":
			dep.Sunset = d.date(s, p)
		case "successor":
			text, ok := d.str(s, p)
			if !ok || text == "" {
				continue
			}
			if msg := restkit.CheckSuccessor(text); msg != "" {
				d.fail(p, s.at(), "successor %s, not %q", msg, clip(text))
				continue
			}
			dep.Successor = text
		}
	}
	return dep
}

// date reads a date (2027-06-30, midnight UTC) or an RFC 3339 date-time.
func (d *decoder) date(e entry, path string) time.Time {
	text, ok := d.str(e, path)
	if !ok || text == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.DateOnly, text); err == nil {
		return t
	}
	if t, err := time.Parse(time.RFC3339, text); err == nil {
		return t.UTC()
	}
	d.fail(path, e.at(), "%s must be a date such as 2027-06-30 or a date-time such as 2027-06-30T12:00:00Z, not %q", e.key, clip(text))
	return time.Time{}
}
