package sqlstore

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/restkit/restkit"
)

// FormatTime writes a datetime as both stores keep it in a column: restkit.TimeLayout
// in UTC, fixed-width with nanoseconds, so that text order is time order.
func FormatTime(t time.Time) string { return t.UTC().Format(restkit.TimeLayout) }

// ParseTime reads restkit.TimeLayout text. The common case — four-digit year, UTC,
// nine fraction digits, as FormatTime writes — is parsed by hand, several times faster
// than time.Parse; anything else falls back to it.
func ParseTime(s string) (time.Time, error) {
	if len(s) == 30 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[19] == '.' && s[29] == 'Z' {
		y, ok1 := digits(s[0:4])
		mo, ok2 := digits(s[5:7])
		d, ok3 := digits(s[8:10])
		h, ok4 := digits(s[11:13])
		mi, ok5 := digits(s[14:16])
		sec, ok6 := digits(s[17:19])
		ns, ok7 := digits(s[20:29])
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h < 24 && mi < 60 && sec < 60 {
			return time.Date(y, time.Month(mo), d, h, mi, sec, ns, time.UTC), nil
		}
	}
	t, err := time.Parse(restkit.TimeLayout, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false
		}
		n = n*10 + int(c)
	}
	return n, true
}

// EncodeState writes canonical values as the JSON object a noun's state (and a
// revision in a history table) is stored as: datetimes as RFC 3339 strings, other
// values as themselves. Both stores keep it as text.
func EncodeState(values map[string]any) (string, error) {
	state := make(map[string]any, len(values))
	for name, v := range values {
		if t, ok := v.(time.Time); ok {
			state[name] = t.UTC().Format(time.RFC3339Nano)
		} else {
			state[name] = v
		}
	}
	data, err := json.Marshal(state)
	return string(data), err
}

// DecodeState reads what EncodeState wrote back into canonical values, through the
// declaration's fields (field returns nil for a name no longer declared). Members
// whose field is gone, or whose value no longer fits its type, are left out.
func DecodeState(state string, field func(name string) *restkit.Field) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(state)))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	values := make(map[string]any, len(raw))
	for name, v := range raw {
		f := field(name)
		if f == nil {
			continue
		}
		if cv, verr := f.Canonical(v); verr == nil && cv != nil {
			values[name] = cv
		}
	}
	return values, nil
}
