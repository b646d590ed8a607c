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

// TestSingularNamesInXMLAndMessages: one record of a resource is named by its
// singular in XML and in messages — derived from the name (statuses → status; address
// stays address, not address_item) or declared (singular: postal_address).
func TestSingularNamesInXMLAndMessages(t *testing.T) {
	fields := func() []*restkit.Field {
		return []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}, {Name: "line", Type: restkit.TypeString}}
	}
	sc := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{
		{Name: "statuses", Key: "id", Fields: fields()},
		{Name: "address", Key: "id", Fields: fields()},
		{Name: "addresses", Key: "id", Fields: fields(), Singular: "postal_address"},
	}}}}
	if err := sc.Prepare(); err != nil {
		t.Fatalf("Prepare: %v %+v", err, restkit.ErrorFields(err))
	}
	st := memory.New()
	if err := st.Migrate(context.Background(), sc); err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, httpapi.Options{Schema: sc, Store: st})
	do := func(method, path, accept, body string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		return w
	}
	for _, tc := range []struct {
		coll, list, item, missing string
	}{
		{"/statuses", "<statuses><status>", "<status><id>1</id>", `"detail":"no status with id 7"`},
		{"/address", "<address><address>", "<address><id>1</id>", `"detail":"no address with id 7"`},
		{"/addresses", "<addresses><postal_address>", "<postal_address><id>1</id>", `"detail":"no postal_address with id 7"`},
	} {
		if w := do("POST", tc.coll, "", `{"id":1,"line":"x"}`); w.Code != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", tc.coll, w.Code, w.Body)
		}
		if w := do("GET", tc.coll, "application/xml", ""); w.Code != 200 || !strings.Contains(w.Body.String(), tc.list) {
			t.Errorf("GET %s as XML: %d %s, want %s", tc.coll, w.Code, w.Body, tc.list)
		}
		if w := do("GET", tc.coll+"/1", "application/xml", ""); w.Code != 200 || !strings.Contains(w.Body.String(), tc.item) {
			t.Errorf("GET %s/1 as XML: %d %s, want %s", tc.coll, w.Code, w.Body, tc.item)
		}
		if w := do("GET", tc.coll+"/7", "", ""); w.Code != 404 || !strings.Contains(w.Body.String(), tc.missing) {
			t.Errorf("GET %s/7: %d %s, want %s", tc.coll, w.Code, w.Body, tc.missing)
		}
	}
}
