package storetest

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/restkit/restkit"
)

// testState: WriteState is a read-modify-write that concurrent writers cannot lose
// an update of, an error writes nothing, nil deletes, and no event is appended.
func testState(t *testing.T, open func(t *testing.T) restkit.Store) {
	s := open(t)
	st, ok := s.(restkit.StateStore)
	if !ok {
		t.Skip("the store keeps no state")
	}
	ctx := context.Background()
	if v, err := st.ReadState(ctx, "counter"); err != nil || v != nil {
		t.Fatalf("absent: %q, %v", v, err)
	}
	var before int64
	if el, ok := s.(restkit.EventLog); ok {
		_, before, _ = el.EventBounds(ctx)
	}
	incr := func(cur []byte) ([]byte, error) {
		n, _ := strconv.Atoi(string(cur))
		return []byte(strconv.Itoa(n + 1)), nil
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				if _, err := st.WriteState(ctx, "counter", incr); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if v, err := st.ReadState(ctx, "counter"); err != nil || string(v) != "80" {
		t.Fatalf("after 80 increments: %q, %v", v, err)
	}
	refuse := errors.New("no")
	if _, err := st.WriteState(ctx, "counter", func([]byte) ([]byte, error) { return []byte("x"), refuse }); err != refuse {
		t.Fatalf("a refusing change: %v", err)
	}
	if v, _ := st.ReadState(ctx, "counter"); string(v) != "80" {
		t.Fatalf("a refused change wrote %q", v)
	}
	if el, ok := s.(restkit.EventLog); ok {
		if _, after, _ := el.EventBounds(ctx); after != before {
			t.Fatalf("state writes appended events: newest %d → %d", before, after)
		}
	}
	if _, err := st.WriteState(ctx, "counter", func([]byte) ([]byte, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	if v, err := st.ReadState(ctx, "counter"); err != nil || v != nil {
		t.Fatalf("deleted: %q, %v", v, err)
	}
}
