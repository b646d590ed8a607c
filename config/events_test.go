package config

import (
	"strings"
	"testing"
	"time"
)

func TestEventsSection(t *testing.T) {
	const apis = "apis:\n  - nouns: {led: {fields: {on: {type: boolean}}}}\n"
	for _, tc := range []struct {
		name, src string
		want      Events
	}{
		{"absent", "", DefaultEvents()},
		{"null", "events:\n", DefaultEvents()},
		{"days", "events: {keep: 30d, max: 0, heartbeat: 5s}\n", Events{Keep: 30 * 24 * time.Hour, Max: 0, Heartbeat: 5 * time.Second}},
		{"hours", "events: {keep: 36h}\n", Events{Keep: 36 * time.Hour, Max: 1_000_000, Heartbeat: 15 * time.Second}},
	} {
		c, err := Parse("t.yaml", []byte(apis+tc.src))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if c.Events != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, c.Events, tc.want)
		}
	}
	for src, want := range map[string]string{
		"events: {keep: 0d}\n":          "t.yaml:3:16: keep must be a positive duration such as 7d, 36h or 90m",
		"events: {keep: soon}\n":        "t.yaml:3:16: keep must be a positive duration",
		"events: {max: -1}\n":           "t.yaml:3:15: max must be",
		"events: {heartbeat: 1d}\n":     "t.yaml:3:21: heartbeat must be a positive duration such as 10s",
		"events: {keep: 7d, kept: 1}\n": `unknown key "kept" in events`,
		"events: [7d]\n":                "events must be a mapping",
	} {
		_, err := Parse("t.yaml", []byte(apis+src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", src, err, want)
		}
	}
}
