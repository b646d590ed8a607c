package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/restkit/restkit"
)

// sameValues fails unless got holds exactly the names of want, each with a value of
// the same Go type that is restkit.Equal to want's.
func sameValues(t testing.TB, what string, got, want map[string]any) {
	t.Helper()
	if d := diffValues(got, want); d != "" {
		t.Errorf("%s: values differ:\n%s\ngot  %s\nwant %s", what, d, show(got), show(want))
	}
}

func diffValues(got, want map[string]any) string {
	var d []string
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			d = append(d, fmt.Sprintf("  %s: missing, want %T %v", name, w, w))
		case reflect.TypeOf(g) != reflect.TypeOf(w):
			d = append(d, fmt.Sprintf("  %s: got %T %v, want %T %v", name, g, g, w, w))
		case !restkit.Equal(g, w):
			d = append(d, fmt.Sprintf("  %s: got %#v, want %#v", name, g, w))
		}
	}
	for name, g := range got {
		if _, ok := want[name]; !ok {
			d = append(d, fmt.Sprintf("  %s: got %T %#v, want absent", name, g, g))
		}
	}
	sort.Strings(d)
	return strings.Join(d, "\n")
}

func show(m map[string]any) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("{")
	for i, k := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s: %T(%v)", k, m[k], m[k])
	}
	b.WriteString("}")
	return b.String()
}

// sameRecord fails unless rec has exactly the values, revision and times.
func sameRecord(t testing.TB, what string, rec *restkit.Record, values map[string]any, rev int64, created, updated time.Time) {
	t.Helper()
	if rec == nil {
		t.Fatalf("%s: record is nil", what)
	}
	sameValues(t, what, rec.Values, values)
	if rec.Rev != rev {
		t.Errorf("%s: Rev = %d, want %d", what, rec.Rev, rev)
	}
	sameTime(t, what+": Created", rec.Created, created)
	sameTime(t, what+": Updated", rec.Updated, updated)
}

// sameTime fails unless got is the same instant as want, in UTC.
func sameTime(t testing.TB, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %s, want %s", what, got.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
	}
	if got.Location() != time.UTC {
		t.Errorf("%s is in %v, want UTC", what, got.Location())
	}
}

// wantKind fails unless err is an error of the kind.
func wantKind(t testing.TB, what string, err error, kind restkit.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %s", what, kind)
	}
	if got := restkit.ErrorKind(err); got != kind {
		t.Fatalf("%s: error kind %s (%v), want %s", what, got, err, kind)
	}
}

// wantNotFound fails unless the record is absent.
func (f *fixture) wantNotFound(t testing.TB, res *restkit.Resource, key any) {
	t.Helper()
	rec, err := f.s.FindRecord(f.ctx, res, key)
	if rec != nil {
		t.Errorf("FindRecord %s %v = %v, want nil", res.Name, key, show(rec.Values))
	}
	wantKind(t, fmt.Sprintf("FindRecord %s %v", res.Name, key), err, restkit.NotFound)
}

// keysOf returns the keys of a page's records, in order.
func keysOf(res *restkit.Resource, p *restkit.Page) []any {
	keys := make([]any, len(p.Records))
	for i, r := range p.Records {
		keys[i] = r.Values[res.Key]
	}
	return keys
}

// ints converts test literals to canonical integer keys.
func ints(xs ...int) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = int64(x)
	}
	return out
}

func sameKeys(t testing.TB, what string, got, want []any) {
	t.Helper()
	if !slices.EqualFunc(got, want, restkit.Equal) {
		t.Errorf("%s:\ngot  %v\nwant %v", what, got, want)
	}
}

// sortValues returns the cursor of a record: its values of the sort fields, nil
// where unset.
func sortValues(rec *restkit.Record, sort []restkit.SortKey) []any {
	out := make([]any, len(sort))
	for i, k := range sort {
		out[i] = rec.Values[k.Field]
	}
	return out
}
