package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestConcurrentCreates(t *testing.T) {
	s := startServer(t, "")

	// 50 distinct keys at once: all created, all listed.
	statuses := make([]int, 50)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := s.do("POST", "/cars", fmt.Sprintf(`{"id":%d,"model":"M","color":"red"}`, i+1))
			statuses[i] = r.Status
		}(i)
	}
	wg.Wait()
	for i, st := range statuses {
		if st != 201 {
			t.Fatalf("create %d: status %d", i+1, st)
		}
	}
	r := s.do("GET", "/cars?limit=100&count=true&fields=id", "")
	if r.Header.Get("X-Total-Count") != "50" || strings.Count(string(r.Body), `"id"`) != 50 {
		t.Fatalf("after 50 creates: total %s, body %s", r.Header.Get("X-Total-Count"), r.Body)
	}

	// 20 creates of one key at once: exactly one wins, the rest conflict.
	statuses = make([]int, 20)
	for i := range statuses {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			statuses[i] = s.do("POST", "/cars", fmt.Sprintf(`{"id":1000,"model":"racer %d","color":"red"}`, i)).Status
		}(i)
	}
	wg.Wait()
	created, conflicts := 0, 0
	for _, st := range statuses {
		switch st {
		case 201:
			created++
		case 409:
			conflicts++
		default:
			t.Fatalf("unexpected status %d", st)
		}
	}
	if created != 1 || conflicts != 19 {
		t.Fatalf("created=%d conflicts=%d, want 1 and 19", created, conflicts)
	}

	// 30 toggles of the LED at once: an even number of toggles leaves it as it was,
	// and the revision counts every one (no update lost).
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := s.do("POST", "/led", ""); r.Status != 200 {
				t.Errorf("toggle: %d %s", r.Status, r.Body)
			}
		}()
	}
	wg.Wait()
	r = s.do("GET", "/led", "")
	if string(r.Body) != `{"state":"off","brightness":50}`+"\n" || !strings.HasPrefix(r.Header.Get("ETag"), `"u-`) { // 30 in base 36 is "u"
		t.Fatalf("after 30 toggles: %s etag %s", r.Body, r.Header.Get("ETag"))
	}
}
