package httpapi

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/restkit/restkit/artefact"
)

// sseLines reads an event stream's "event: … data: …" pairs as they come.
func sseLines(t *testing.T, ts *httptest.Server, path, key string) (<-chan string, int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	out := make(chan string, 100)
	if resp.StatusCode != 200 {
		return out, resp.StatusCode
	}
	r := bufio.NewReader(resp.Body)
	if _, err := r.ReadString('\n'); err != nil { // the opening comment: the stream is on
		t.Fatal(err)
	}
	go func() {
		event := ""
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\n")
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				event = v
			}
			if v, ok := strings.CutPrefix(line, "data: "); ok {
				out <- event + " " + v
			}
		}
	}()
	return out, 200
}

func nextLine(t *testing.T, c <-chan string) string {
	t.Helper()
	select {
	case s := <-c:
		return s
	case <-time.After(30 * time.Second):
		t.Fatal("no event within 30s")
		return ""
	}
}

// TestArtefactEventStreams: /artefacts/events follows the whole repository, showing
// each caller only the directories it may read (judged per event);
// /artefacts/DIR/events a directory's subtree, /artefacts/DIR/ID/events one artefact.
func TestArtefactEventStreams(t *testing.T) {
	srv, _ := repoServer(t, artefact.Policy{}, true, nil)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { srv.Close(); ts.Close() })
	all, _ := sseLines(t, ts, "/artefacts/events", readerKey)
	team, _ := sseLines(t, ts, "/artefacts/team/events", teamKey)
	one, _ := sseLines(t, ts, "/artefacts/pub/app/a.txt/events", readerKey)
	if _, status := sseLines(t, ts, "/artefacts/team/x/events", readerKey); status != http.StatusForbidden {
		t.Errorf("a reader's stream of a directory it may not read: %d", status)
	}
	put := func(path, body string) {
		req, _ := http.NewRequest(http.MethodPut, ts.URL+"/artefacts/"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+ciKey)
		req.Header.Set("Content-Type", "text/plain")
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("PUT %s: %d", path, resp.StatusCode)
		}
	}
	put("team/x/secret.txt", "s")
	put("pub/app/a.txt", "one")
	put("pub/app/a.txt", "two")
	req, _ := http.NewRequest(http.MethodDelete, ts.URL+"/artefacts/pub/app/a.txt", nil)
	req.Header.Set("Authorization", "Bearer "+ciKey)
	if resp, err := ts.Client().Do(req); err != nil || resp.StatusCode != 204 {
		t.Fatalf("DELETE: %v %v", resp, err)
	}
	for _, want := range []string{`created {"directory":"pub/app","id":"a.txt","version":1`, `updated {"directory":"pub/app","id":"a.txt","version":2`, `deleted {"directory":"pub/app","id":"a.txt"}`} {
		if got := nextLine(t, all); !strings.HasPrefix(got, want) {
			t.Errorf("the repository's stream (reader): %s, want %s…", got, want)
		}
		if got := nextLine(t, one); !strings.HasPrefix(got, want) {
			t.Errorf("the artefact's stream: %s, want %s…", got, want)
		}
	}
	if got := nextLine(t, team); !strings.HasPrefix(got, `created {"directory":"team/x","id":"secret.txt"`) {
		t.Errorf("the team directory's stream: %s", got)
	}
}
