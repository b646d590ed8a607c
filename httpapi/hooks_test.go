package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/httpapi"
	"github.com/restkit/restkit/memory"
)

// hookServer serves one resource, notes, with the hooks h.
func hookServer(t *testing.T, h *restkit.Hooks) (*httpapi.Server, *bytes.Buffer) {
	t.Helper()
	max := 20
	res := &restkit.Resource{Name: "notes", Key: "id", Hooks: h, Fields: []*restkit.Field{
		{Name: "id", Type: restkit.TypeInteger},
		{Name: "title", Type: restkit.TypeString, Required: true},
		{Name: "slug", Type: restkit.TypeString, MaxLength: &max, ReadOnly: true},
		{Name: "locked", Type: restkit.TypeBoolean, Default: false},
	}}
	sc := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{res}}}}
	if err := sc.Prepare(); err != nil {
		t.Fatal(err)
	}
	st := memory.New()
	if err := st.Migrate(context.Background(), sc); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	return newServer(t, httpapi.Options{Schema: sc, Store: st, Logger: slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))}), &logs
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// TestHooks: before-hooks change or refuse a write inside its transaction, and
// AfterCommit is told every committed change, in order.
func TestHooks(t *testing.T) {
	var commits []string
	srv, _ := hookServer(t, &restkit.Hooks{
		BeforeCreate: func(_ context.Context, rec *restkit.Record) error {
			rec.Values["slug"] = strings.ToLower(strings.ReplaceAll(rec.Values["title"].(string), " ", "-"))
			return nil
		},
		BeforeUpdate: func(_ context.Context, cur, next *restkit.Record) error {
			if cur.Values["locked"] == true {
				return restkit.Errorf(restkit.Conflict, "note %v is locked", cur.Values["id"])
			}
			next.Values["slug"] = strings.ToLower(next.Values["title"].(string))
			return nil
		},
		BeforeDelete: func(_ context.Context, cur *restkit.Record) error {
			if cur.Values["title"] == "keep" {
				return restkit.Errorf(restkit.Forbidden, "this note is kept")
			}
			return nil
		},
		AfterCommit: func(_ context.Context, c restkit.Commit) error {
			s := string(c.Op)
			if c.Before != nil {
				s += " from " + c.Before.Values["title"].(string)
			}
			if c.After != nil {
				s += " to " + c.After.Values["title"].(string)
			}
			commits = append(commits, s)
			return nil
		},
	})
	if r := mustServe(t, srv, 201, "POST", "/notes", `{"id":1,"title":"Hello World"}`); !strings.Contains(r.body, `"slug":"hello-world"`) {
		t.Fatalf("BeforeCreate did not set the slug: %s", r.body)
	}
	if r := mustServe(t, srv, 200, "PATCH", "/notes/1", `{"title":"Hi"}`); !strings.Contains(r.body, `"slug":"hi"`) {
		t.Fatalf("BeforeUpdate did not set the slug: %s", r.body)
	}
	mustServe(t, srv, 200, "PATCH", "/notes/1", `{"locked":true}`)
	if r := mustServe(t, srv, 409, "PUT", "/notes/1", `{"id":1,"title":"changed"}`); !strings.Contains(r.body, "note 1 is locked") {
		t.Fatalf("BeforeUpdate's refusal: %s", r.body)
	}
	if r := mustServe(t, srv, 200, "GET", "/notes/1", ""); !strings.Contains(r.body, `"title":"Hi"`) {
		t.Fatalf("a refused update changed the record: %s", r.body)
	}
	mustServe(t, srv, 201, "POST", "/notes", `[{"id":2,"title":"keep"},{"id":3,"title":"Bulk One"}]`)
	mustServe(t, srv, 403, "DELETE", "/notes/2", "")
	mustServe(t, srv, 200, "GET", "/notes/2", "")
	mustServe(t, srv, 204, "DELETE", "/notes/3", "")
	want := "created to Hello World; updated from Hello World to Hi; updated from Hi to Hi; created to keep; created to Bulk One; deleted from Bulk One"
	if got := strings.Join(commits, "; "); got != want {
		t.Fatalf("AfterCommit saw\n%s\nwant\n%s", got, want)
	}
}

// TestFailingHooks: a hook that panics, times out or leaves an invalid record fails
// its request (500, logged; 400 for an invalid value) and writes nothing; the
// server goes on. An AfterCommit failure says that the write committed.
func TestFailingHooks(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	var modeV atomic.Value
	modeV.Store("")
	mode := func() string { return modeV.Load().(string) }
	srv, logs := hookServer(t, &restkit.Hooks{
		Timeout: 2 * time.Second, // generous: only "hang" reaches it, and a loaded CI machine must not
		BeforeCreate: func(ctx context.Context, rec *restkit.Record) error {
			switch mode() {
			case "panic":
				panic("boom")
			case "hang":
				<-release // ignores ctx: the request must not wait for it
			case "too long":
				rec.Values["slug"] = strings.Repeat("x", 50)
			case "wrong type":
				rec.Values["slug"] = 7
			case "key":
				rec.Values["id"] = int64(99)
			case "error":
				return errors.New("disk on fire")
			}
			return nil
		},
		AfterCommit: func(context.Context, restkit.Commit) error {
			if mode() == "after" {
				panic("after boom")
			}
			return nil
		},
	})
	for i, c := range []struct {
		mode   string
		status int
		body   string
		log    string
	}{
		{"panic", 500, "internal error", "panicked: boom"},
		{"hang", 500, "internal error", "did not return within 2s"},
		{"too long", 400, `"field":"slug"`, ""},
		{"wrong type", 500, "internal error", `to a int`},
		{"key", 500, "internal error", "changed the key"},
		{"error", 500, "internal error", "disk on fire"},
	} {
		modeV.Store(c.mode)
		r := serve(t, srv, "POST", "/notes", `{"id":1,"title":"t"}`)
		if r.status != c.status || !strings.Contains(r.body, c.body) {
			t.Errorf("%s: %d %s", c.mode, r.status, r.body)
		}
		if c.log != "" && !strings.Contains(logs.String(), c.log) {
			t.Errorf("%s: the log lacks %q", c.mode, c.log)
		}
		if r := serve(t, srv, "GET", "/notes/1", ""); r.status != 404 {
			t.Errorf("%s (%d): the failed create stored the record: %d", c.mode, i, r.status)
		}
	}
	modeV.Store("after")
	if r := serve(t, srv, "POST", "/notes", `{"id":5,"title":"t"}`); r.status != 500 || !strings.Contains(r.body, "committed") {
		t.Errorf("after: %d %s", r.status, r.body)
	}
	modeV.Store("")
	mustServe(t, srv, 200, "GET", "/notes/5", "")
}
