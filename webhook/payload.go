package webhook

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/recordjson"
)

// source is what events of one Source are delivered as: the name their types start
// with and the declaration that renders their data.
type source struct {
	name string
	res  *restkit.Resource
	noun *restkit.Noun
}

// sources maps every event Source of a schema to its name in event types; the
// repository's events are ArtefactsName.
func sources(s *restkit.Schema) map[string]source {
	m := map[string]source{restkit.ArtefactSource: {name: ArtefactsName}}
	for _, api := range s.APIs {
		for _, r := range api.Resources {
			m[r.StoreName] = source{name: r.Name, res: r}
		}
		for _, n := range api.Nouns {
			m[n.StoreName] = source{name: n.Name, noun: n}
		}
	}
	return m
}

// Body is the payload of an event (Standard Webhooks "Payload structure"):
//
//	{"type":"cars.created","timestamp":"2024-05-01T12:00:00.123Z","seq":17,"data":{…}}
//
// where timestamp is when the write committed (RFC 3339), seq the event's place in
// the change log, and data the record as GET shows it after the write — for a
// delete, its key alone ({"id":5}); a noun's state; the repository's own JSON for an
// artefact's event.
func (src source) body(ev restkit.Event) ([]byte, error) {
	b := make([]byte, 0, 256+len(ev.State))
	b = append(b, `{"type":`...)
	b = recordjson.AppendString(b, src.name+"."+string(ev.Op))
	b = append(b, `,"timestamp":`...)
	b = recordjson.AppendString(b, ev.Time.UTC().Format(time.RFC3339Nano))
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, ev.Seq, 10)
	b = append(b, `,"data":`...)
	b, err := src.appendData(b, ev)
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

func (src source) appendData(b []byte, ev restkit.Event) ([]byte, error) {
	switch {
	case src.res != nil:
		rec, err := ev.Record(src.res.Field)
		if err != nil {
			return nil, err
		}
		if ev.Op == restkit.Deleted {
			key, ok := rec.Values[src.res.Key]
			if !ok {
				key = parseKey(src.res, ev.Key)
			}
			b = append(b, '{')
			b = recordjson.AppendString(b, src.res.Key)
			b = append(b, ':')
			b = recordjson.AppendValue(b, key)
			return append(b, '}'), nil
		}
		return recordjson.Full(src.res.Fields, src.res.Timestamps).Append(b, rec), nil
	case src.noun != nil:
		rec, err := ev.Record(src.noun.Field)
		if err != nil {
			return nil, err
		}
		return recordjson.Full(src.noun.Fields, false).Append(b, rec), nil
	}
	// The repository's events carry their data as JSON of their own (compacted, as
	// the rest of the body is).
	if strings.HasPrefix(strings.TrimSpace(ev.State), "{") {
		buf := bytes.NewBuffer(b)
		if err := json.Compact(buf, []byte(ev.State)); err == nil { // on error buf is unchanged
			return buf.Bytes(), nil
		}
	}
	dir, id, _ := strings.Cut(ev.Key, "/")
	b = append(b, `{"directory":`...)
	b = recordjson.AppendString(b, dir)
	b = append(b, `,"id":`...)
	b = recordjson.AppendString(b, id)
	return append(b, '}'), nil
}

// parseKey reads an event's key text as the resource's key type.
func parseKey(res *restkit.Resource, text string) any {
	if kf := res.KeyField(); kf != nil && kf.Type == restkit.TypeInteger {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return n
		}
	}
	return text
}
