package sqlstore

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC)
	for _, in := range []time.Time{t0, time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)} {
		got, err := ParseTime(FormatTime(in))
		if err != nil || !got.Equal(in) || got.Location() != time.UTC {
			t.Errorf("ParseTime(FormatTime(%v)) = %v, %v", in, got, err)
		}
	}
	// Every day of years around the edges of the calendar's rules (leap centuries,
	// the epoch, year 1), at a time of day that moves: as time.Date reads them.
	for _, y := range []int{1, 2, 4, 99, 100, 399, 400, 1600, 1899, 1900, 1969, 1970, 1971, 2000, 2023, 2024, 2100, 2400, 9999} {
		for d := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() == y; d = d.Add(24*time.Hour + 61*time.Second + 7) {
			got, err := ParseTime(FormatTime(d))
			if err != nil || !got.Equal(d) || got.Location() != time.UTC || got.String() != d.String() {
				t.Fatalf("ParseTime(FormatTime(%v)) = %v, %v", d, got, err)
			}
		}
	}
	if _, err := ParseTime("2024-13-01T00:00:00.000000000Z"); err == nil {
		t.Error("month 13 parsed")
	}
}

// FuzzSimpleList: whenever simpleList reads an array column by hand, it reads what
// encoding/json (UseNumber) reads.
func FuzzSimpleList(f *testing.F) {
	for _, s := range []string{`[]`, `[1,2,3]`, `["a","b"]`, ` [ -7 , "x y" ] `, `[0]`, `[01]`, `[1.5]`, `[1e3]`, `["a\"b"]`,
		`["é"]`, "[\"\xff\"]", `[1,]`, `[1] x`, `[[1]]`, `[null]`, `[true]`, `[-]`, `[`, `null`, `["\u00e9"]`, "[\"a\tb\"]"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := simpleList(raw)
		if !ok {
			return
		}
		var want []any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("simpleList read %q, encoding/json refuses it: %v", raw, err)
		}
		if want == nil {
			want = []any{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: simpleList %#v, encoding/json %#v", raw, got, want)
		}
	})
}
