package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/restkit/restkit"
)

func testNoun(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setup(t, open)
	t1, t2 := t0.Add(time.Second), t0.Add(2*time.Second)

	rec, err := f.s.FindNoun(f.ctx, f.lamp)
	if rec != nil {
		t.Errorf("FindNoun before any write = %v", show(rec.Values))
	}
	wantKind(t, "FindNoun before any write", err, restkit.NotFound)

	// First write: cur is nil. Defaults holds label: nil, which reads back absent.
	defaults := map[string]any{"state": "off", "level": int64(50), "ratio": 0.5, "lit": false}
	called := false
	rec, err = f.s.WriteNoun(f.ctx, f.lamp, func(cur *restkit.Record) (*restkit.Record, error) {
		called = true
		if cur != nil {
			return nil, errors.New("cur is not nil on the first write")
		}
		return &restkit.Record{Values: f.lamp.Defaults(), Updated: t1}, nil
	})
	if err != nil || !called {
		t.Fatalf("first WriteNoun: %v (called %v)", err, called)
	}
	sameRecord(t, "first WriteNoun", rec, defaults, 1, t1, t1)
	rec, err = f.s.FindNoun(f.ctx, f.lamp)
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, "FindNoun", rec, defaults, 1, t1, t1)

	// The other API's lamp is another noun.
	_, err = f.s.FindNoun(f.ctx, f.v1lamp)
	wantKind(t, "FindNoun of the v1 lamp", err, restkit.NotFound)

	since := time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.UTC)
	on := map[string]any{"state": "on", "level": int64(1)<<53 + 1, "label": "日本 😀 e\u0301", "since": since, "ratio": 0.1, "lit": true}
	rec, err = f.s.WriteNoun(f.ctx, f.lamp, func(cur *restkit.Record) (*restkit.Record, error) {
		if cur == nil {
			return nil, errors.New("cur is nil on the second write")
		}
		sameRecord(t, "cur of the second write", cur, defaults, 1, t1, t1)
		return &restkit.Record{Values: copyMap(on), Updated: t2}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, "second WriteNoun", rec, on, 2, t1, t2)
	rec, err = f.s.FindNoun(f.ctx, f.lamp)
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, "FindNoun after the second write", rec, on, 2, t1, t2)

	// A failing change: its error unchanged, nothing written.
	boom := restkit.Errorf(restkit.Conflict, "the lamp is busy")
	_, err = f.s.WriteNoun(f.ctx, f.lamp, func(cur *restkit.Record) (*restkit.Record, error) {
		cur.Values["state"] = "off"
		return nil, boom
	})
	if err != boom {
		t.Fatalf("WriteNoun error = %v, want the change's error unchanged", err)
	}
	// A change must not return nil.
	_, err = f.s.WriteNoun(f.ctx, f.lamp, func(*restkit.Record) (*restkit.Record, error) { return nil, nil })
	wantKind(t, "WriteNoun returning nil", err, restkit.Internal)
	// Nor undeclared fields.
	_, err = f.s.WriteNoun(f.ctx, f.lamp, func(cur *restkit.Record) (*restkit.Record, error) {
		cur.Values["colour"] = "red"
		return cur, nil
	})
	wantKind(t, "WriteNoun with an undeclared field", err, restkit.Internal)
	rec, err = f.s.FindNoun(f.ctx, f.lamp)
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, "after failed writes", rec, on, 2, t1, t2)

	// Setting a value to nil makes it absent.
	rec, err = f.s.WriteNoun(f.ctx, f.lamp, func(cur *restkit.Record) (*restkit.Record, error) {
		cur.Values["label"] = nil
		delete(cur.Values, "since")
		cur.Updated = t2
		return cur, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	noLabel := copyMap(on)
	delete(noLabel, "label")
	delete(noLabel, "since")
	sameRecord(t, "after clearing label", rec, noLabel, 3, t1, t2)

	// A member whose field is no longer declared is left out of what is read.
	smaller := &restkit.Schema{APIs: []*restkit.API{{Nouns: []*restkit.Noun{{Name: "lamp", Fields: []*restkit.Field{
		{Name: "state", Type: restkit.TypeEnum, Values: []string{"off", "on"}, Default: "off"},
	}}}}}}
	if err := smaller.Prepare(); err != nil {
		t.Fatal(err)
	}
	rec, err = f.s.FindNoun(f.ctx, smaller.APIs[0].Nouns[0])
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, "FindNoun with fewer fields declared", rec, map[string]any{"state": "on"}, 3, t1, t2)
}

func testConcurrentNoun(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setup(t, open)
	_, err := f.s.WriteNoun(f.ctx, f.lamp, func(cur *restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: map[string]any{"state": "off", "level": int64(0)}, Updated: t0}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	const n = 30
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := f.s.WriteNoun(f.ctx, f.lamp, increment("level")); err != nil {
				t.Errorf("increment: %v", err)
			}
		})
	}
	wg.Wait()
	rec, err := f.s.FindNoun(f.ctx, f.lamp)
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, "after 30 increments", rec, map[string]any{"state": "off", "level": int64(n)}, n+1, t0, t0)
}
