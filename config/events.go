package config

import (
	"strconv"
	"strings"
	"time"
)

// Events is the events: section (DESIGN §12).
type Events struct {
	// Keep (keep) is how long the change log keeps an event: a stream resuming from
	// an older one gets event: reset. Default 7d.
	Keep time.Duration
	// Max (max) is the most events the log keeps, the newest; 0 is no count limit.
	// Default 1,000,000.
	Max int64
	// Heartbeat (heartbeat) is how often an idle stream gets a comment line, so that
	// proxies and clients see it alive. Default 15s.
	Heartbeat time.Duration
}

// DefaultEvents is the events: section of a file without one.
func DefaultEvents() Events {
	return Events{Keep: 7 * 24 * time.Hour, Max: 1_000_000, Heartbeat: 15 * time.Second}
}

var eventsKeys = []string{"keep", "max", "heartbeat"}

// events reads the events: section; what it leaves out keeps its default.
func (d *decoder) events(e entry) Events {
	ev := DefaultEvents()
	d.recKey("events", e)
	es, _ := d.mapping(e.value, e.at(), "events", "in events", eventsKeys)
	for _, s := range es {
		p := "events." + s.key
		d.rec(p, s)
		if s.isNull() {
			continue
		}
		switch s.key {
		case "keep":
			if v := d.days(s, p); v > 0 {
				ev.Keep = v
			}
		case "max":
			if n, ok := d.integer(s, p, 0, 1<<40); ok {
				ev.Max = n
			}
		case "heartbeat":
			if v := d.duration(s, p); v > 0 {
				ev.Heartbeat = v
			}
		}
	}
	return ev
}

// days reads a positive duration that may also be given in days: 7d, 36h, 90m.
func (d *decoder) days(e entry, path string) time.Duration {
	if s, ok := scalarOf(e.value); ok {
		if text, isText := s.value.(string); isText {
			text = strings.TrimSpace(text)
			if n, ok := strings.CutSuffix(text, "d"); ok {
				if v, err := strconv.Atoi(n); err == nil && v > 0 && v <= 36500 {
					return time.Duration(v) * 24 * time.Hour
				}
			} else if v, err := time.ParseDuration(text); err == nil && v > 0 {
				return v
			}
		}
	}
	d.fail(path, e.at(), "%s must be a positive duration such as 7d, 36h or 90m, not %s", e.key, describe(e.value))
	return 0
}
