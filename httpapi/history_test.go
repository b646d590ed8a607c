package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/httpapi"
	"github.com/restkit/restkit/memory"
)

// plainStore hides every ability of a Store but the Store interface itself.
type plainStore struct{ restkit.Store }

// TestHistoryRoutesNeedAHistoryStore: the revisions routes are registered only for
// resources with History over a store that implements restkit.HistoryStore.
func TestHistoryRoutesNeedAHistoryStore(t *testing.T) {
	sc := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{{
		Name: "cars", Key: "id", History: true, Fields: []*restkit.Field{
			{Name: "id", Type: restkit.TypeInteger},
			{Name: "model", Type: restkit.TypeString},
		}}}}}}
	if err := sc.Prepare(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		store restkit.Store
		want  int
	}{
		{"memory keeps history", memory.New(), http.StatusOK},
		{"a store without HistoryStore", plainStore{memory.New()}, http.StatusNotFound},
	} {
		if err := tc.store.Migrate(context.Background(), sc); err != nil {
			t.Fatal(err)
		}
		srv := newServer(t, httpapi.Options{Schema: sc, Store: tc.store})
		req := httptest.NewRequest("POST", "/cars", strings.NewReader(`{"id":1,"model":"Golf"}`))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code != http.StatusCreated {
			t.Fatalf("%s: POST %d %s", tc.name, w.Code, w.Body)
		}
		w = httptest.NewRecorder()
		srv.ServeHTTP(w, httptest.NewRequest("GET", "/cars/1/revisions", nil))
		if w.Code != tc.want {
			t.Errorf("%s: GET /cars/1/revisions = %d, want %d: %s", tc.name, w.Code, tc.want, w.Body)
		}
	}
}
