package restkit

import (
	"encoding/json"
	"testing"
	"time"
)

// TestEventStateIsJSONMarshal: the State EventOf builds by hand is byte for byte what
// json.Marshal of eventState writes, and reads back.
func TestEventStateIsJSONMarshal(t *testing.T) {
	at := time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.FixedZone("x", 3600))
	rec := &Record{Values: map[string]any{"id": int64(7), "name": `a "quoted" <b>`, "when": at, "n": 1.5, "ok": true},
		Rev: 3, Created: at, Updated: at.Add(time.Second)}
	for _, c := range []struct{ cur, next *Record }{{nil, rec}, {rec, rec}, {rec, nil}} {
		e, err := EventOf("cars", "7", c.cur, c.next, at)
		if err != nil {
			t.Fatal(err)
		}
		values, _ := EncodeState(rec.Values)
		want, _ := json.Marshal(eventState{Values: json.RawMessage(values), Created: rec.Created.UTC(), Updated: rec.Updated.UTC()})
		if e.State != string(want) {
			t.Errorf("state %s\nwant  %s", e.State, want)
		}
		back, err := e.Record(func(name string) *Field {
			typ := map[string]FieldType{"id": TypeInteger, "name": TypeString, "when": TypeDatetime, "n": TypeNumber, "ok": TypeBoolean}[name]
			return &Field{Name: name, Type: typ}
		})
		if err != nil || back.Rev != 3 || !back.Created.Equal(rec.Created) || len(back.Values) != 5 {
			t.Errorf("read back: %+v %v", back, err)
		}
	}
}
