package sqlstore

import (
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
	if _, err := ParseTime("2024-13-01T00:00:00.000000000Z"); err == nil {
		t.Error("month 13 parsed")
	}
}
