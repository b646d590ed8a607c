package e2e

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
)

const counterConfig = `
apis:
  - resources:
      counters:
        key: id
        fields:
          id: {type: integer}
          n: {type: integer, min: 0}
`

// TestNoLostUpdates: 50 clients each add one to a counter by read-modify-write,
// guarded by If-Match and retried on 412. Every increment must survive: the final value
// is exactly 50 and the revision counts every write.
func TestNoLostUpdates(t *testing.T) {
	s := startServer(t, "", "--config", writeConfig(t, counterConfig))
	if r := s.do("POST", "/counters", `{"id":1,"n":0}`); r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	const clients = 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	retries := 0
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for attempt := 0; attempt < 500; attempt++ {
				r := s.do("GET", "/counters/1", "")
				var c struct{ N int }
				if err := json.Unmarshal(r.Body, &c); err != nil || r.Status != 200 {
					t.Errorf("GET: %d %s", r.Status, r.Body)
					return
				}
				w := s.do("PUT", "/counters/1", fmt.Sprintf(`{"n":%d}`, c.N+1), "If-Match", r.Header.Get("ETag"))
				switch w.Status {
				case 200:
					return
				case 412:
					mu.Lock()
					retries++
					mu.Unlock()
				default:
					t.Errorf("PUT: %d %s", w.Status, w.Body)
					return
				}
			}
			t.Error("gave up after 500 attempts")
		}()
	}
	wg.Wait()
	r := s.do("GET", "/counters/1", "")
	if string(r.Body) != `{"id":1,"n":50}`+"\n" || r.Header.Get("ETag")[:4] != `"1f-` { // revision 51 is "1f" in base 36
		t.Fatalf("after %d increments (%d retries): %s etag %s", clients, retries, r.Body, r.Header.Get("ETag"))
	}
	t.Logf("%d clients, %d retries on 412", clients, retries)
}
