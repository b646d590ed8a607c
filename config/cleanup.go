package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/artefact"
)

// cleanupKeys are the settings of one cleanup policy (artefacts.cleanup[i]).
var cleanupKeys = []string{"match", "older_than", "keep_latest", "not_downloaded_for"}

// cleanup reads artefacts.cleanup: a list of {match, older_than, keep_latest,
// not_downloaded_for}; each policy needs a match and an age (older_than or
// not_downloaded_for), so that none deletes what is new.
func (d *decoder) cleanup(e entry, path string) []artefact.CleanupRule {
	if e.isNull() {
		return nil
	}
	seq, ok := e.value.(*ast.SequenceNode)
	if !ok {
		d.fail(path, e.at(), "cleanup must be a list of {match, older_than, keep_latest, not_downloaded_for}, not %s", describe(e.value))
		return nil
	}
	var out []artefact.CleanupRule
	for i, raw := range seq.Values {
		if !d.spend() {
			break
		}
		p := fmt.Sprintf("%s[%d]", path, i)
		d.at[p] = posOf(raw)
		es, ok := d.mapping(d.resolve(raw), posOf(raw), p, "in "+p, cleanupKeys)
		if !ok {
			d.flagged[p] = true
			continue
		}
		var rule artefact.CleanupRule
		for _, s := range es {
			sp := p + "." + s.key
			d.rec(sp, s)
			switch s.key {
			case "match":
				rule.Match, _ = d.str(s, sp)
				if msg := restkit.CheckDirectoryPattern(rule.Match); msg != "" {
					d.fail(sp, s.at(), "%s", msg)
				}
			case "older_than":
				rule.OlderThan = d.age(s, sp)
			case "not_downloaded_for":
				rule.NotDownloadedFor = d.age(s, sp)
			case "keep_latest":
				n, _ := d.integer(s, sp, 0, math.MaxInt32)
				rule.KeepLatest = int(n)
			}
		}
		switch {
		case rule.Match == "" && !d.reported(p+".match"):
			d.fail(p, posOf(raw), "a cleanup policy needs match: a directory glob such as snapshots/**")
		case rule.OlderThan == 0 && rule.NotDownloadedFor == 0 && !d.reported(p+".older_than") && !d.reported(p+".not_downloaded_for"):
			d.fail(p, posOf(raw), "a cleanup policy needs older_than or not_downloaded_for (keep_latest alone is keep_versions)")
		}
		out = append(out, rule)
	}
	return out
}

// age reads a positive age: a number of days (30d), of weeks (2w), or a Go duration
// (12h, 90m).
func (d *decoder) age(e entry, path string) time.Duration {
	if s, ok := scalarOf(e.value); ok && !e.isNull() {
		if text, isText := s.value.(string); isText {
			text = strings.TrimSpace(text)
			unit := map[byte]time.Duration{'d': 24 * time.Hour, 'w': 7 * 24 * time.Hour}
			if n := len(text); n > 1 && unit[text[n-1]] != 0 {
				if v, err := strconv.ParseInt(text[:n-1], 10, 32); err == nil && v > 0 {
					return time.Duration(v) * unit[text[n-1]]
				}
			} else if v, err := time.ParseDuration(text); err == nil && v > 0 {
				return v
			}
		}
	}
	d.fail(path, e.at(), "%s must be a positive age such as 30d, 2w or 12h, not %s", e.key, describe(e.value))
	return 0
}
