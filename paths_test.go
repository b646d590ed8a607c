package restkit_test

import (
	"strings"
	"testing"

	"github.com/restkit/restkit"
)

// TestResourcePaths: a resource's list and items are served at its name unless it
// declares path (the list, and the items with it) or item_path (the items).
func TestResourcePaths(t *testing.T) {
	fields := func() []*restkit.Field { return []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}} }
	plain := &restkit.Resource{Name: "cars", Key: "id", Fields: fields()}
	flask := &restkit.Resource{Name: "resources", ItemPath: "resource", Key: "id", Fields: fields()}
	moved := &restkit.Resource{Name: "items", Path: "things", Key: "id", Fields: fields()}
	api := &restkit.API{Base: "/api", Resources: []*restkit.Resource{plain, flask, moved}}
	if err := (&restkit.Schema{APIs: []*restkit.API{api}}).Prepare(); err != nil {
		t.Fatalf("Prepare: %v %+v", err, restkit.ErrorFields(err))
	}
	for _, tc := range []struct {
		res              *restkit.Resource
		list, items, sto string
	}{
		{plain, "/api/cars", "/api/cars", "api_cars"},
		{flask, "/api/resources", "/api/resource", "api_resources"},
		{moved, "/api/things", "/api/things", "api_items"},
	} {
		if got := api.ListPath(tc.res); got != tc.list {
			t.Errorf("%s: ListPath %q, want %q", tc.res.Name, got, tc.list)
		}
		if got := api.ItemsPath(tc.res); got != tc.items {
			t.Errorf("%s: ItemsPath %q, want %q", tc.res.Name, got, tc.items)
		}
		if tc.res.StoreName != tc.sto {
			t.Errorf("%s: StoreName %q, want %q (storage follows the name, not the path)", tc.res.Name, tc.res.StoreName, tc.sto)
		}
	}
}

// TestPrepareRefusesPathClashes: every route a resource serves is claimed: an
// item_path or path taken by another resource or noun, a server path at the root, or
// something that is not one URL segment is refused at the setting that asks for it.
func TestPrepareRefusesPathClashes(t *testing.T) {
	fields := func() []*restkit.Field { return []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}} }
	s := &restkit.Schema{APIs: []*restkit.API{{
		Resources: []*restkit.Resource{
			{Name: "cars", Key: "id", Fields: fields()},
			{Name: "autos", ItemPath: "cars", Key: "id", Fields: fields()},
			{Name: "trucks", Path: "lorries", ItemPath: "lorries", Key: "id", Fields: fields()},
			{Name: "vans", Path: "led", Key: "id", Fields: fields()},
			{Name: "stats", Path: "metrics", Key: "id", Fields: fields()},
			{Name: "probes", ItemPath: "healthz", Key: "id", Fields: fields()},
			{Name: "bad", Path: "a/b", ItemPath: "Bad", Key: "id", Fields: fields()},
			{Name: "readyz", Path: "ready", Key: "id", Fields: fields()}, // the name alone is no route
			{Name: "ui", Key: "id", Fields: fields()},
		},
		Nouns: []*restkit.Noun{{Name: "led", Fields: []*restkit.Field{{Name: "on", Type: restkit.TypeBoolean}}}},
	}, {Base: "/ui/v1", Nouns: []*restkit.Noun{{Name: "lamp", Fields: []*restkit.Field{{Name: "on", Type: restkit.TypeBoolean}}}}}}}
	var got []string
	for _, fe := range restkit.ErrorFields(s.Prepare()) {
		got = append(got, fe.Field+": "+fe.Message)
	}
	want := []string{
		`apis[0].resources.autos.item_path: path /cars is already used by apis[0].resources.cars`,
		`apis[0].resources.stats.path: /metrics is the server's own (Prometheus metrics): choose another path or give its API a base such as /v1`,
		`apis[0].resources.probes.item_path: /healthz is the server's own (liveness): choose another path or give its API a base such as /v1`,
		`apis[0].resources.bad.path: path must be one URL segment matching ^[a-z][a-z0-9_-]{0,62}$, got "a/b"`,
		`apis[0].resources.bad.item_path: item_path must be one URL segment matching ^[a-z][a-z0-9_-]{0,62}$, got "Bad"`,
		`apis[0].resources.ui: /ui is the server's own (the web console): rename the resource or give its API a base such as /v1`,
		`apis[0].nouns.led: path /led is already used by apis[0].resources.vans.path`,
		`apis[1].base: /ui is the server's own (the web console): choose another base`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestGeneratedIntegerKeys: key_from: generated on an integer key is allowed (the
// server counts 1, 2, 3…), with no max and no min above 1; a client may not send it.
func TestGeneratedIntegerKeys(t *testing.T) {
	one, five := 1.0, 5.0
	declare := func(key *restkit.Field) (*restkit.Resource, error) {
		r := &restkit.Resource{Name: "tickets", Key: "id", KeySource: restkit.KeyGenerated,
			Fields: []*restkit.Field{key, {Name: "title", Type: restkit.TypeString}}}
		return r, (&restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{r}}}}).Prepare()
	}
	r, err := declare(&restkit.Field{Name: "id", Type: restkit.TypeInteger, Min: &one})
	if err != nil {
		t.Fatalf("Prepare: %v %+v", err, restkit.ErrorFields(err))
	}
	if !r.SequentialKeys() || !r.KeyField().ReadOnly || r.KeyField().Required {
		t.Errorf("SequentialKeys %v, key read-only %v required %v", r.SequentialKeys(), r.KeyField().ReadOnly, r.KeyField().Required)
	}
	_, err = r.Build(map[string]any{"id": float64(3), "title": "x"}, nil, int64(1), restkit.Create)
	if fe := restkit.ErrorFields(err); len(fe) != 1 || fe[0] != (restkit.FieldError{Field: "id", Message: "is generated by the server and must not be sent"}) {
		t.Errorf("a supplied key: %v %+v", err, fe)
	}
	for _, key := range []*restkit.Field{
		{Name: "id", Type: restkit.TypeInteger, Max: &five},
		{Name: "id", Type: restkit.TypeInteger, Min: &five},
	} {
		_, err := declare(key)
		if fe := restkit.ErrorFields(err); len(fe) != 1 || !strings.Contains(fe[0].Message, "takes no max, and no min above 1") {
			t.Errorf("min %v max %v: %v", key.Min, key.Max, fe)
		}
	}
	notes := &restkit.Resource{Name: "notes", Key: "id", KeySource: restkit.KeyGenerated, Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeString}}}
	if err := (&restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{notes}}}}).Prepare(); err != nil || notes.SequentialKeys() {
		t.Errorf("a generated string key: %v, SequentialKeys %v", err, notes.SequentialKeys())
	}
}

// TestPrepareRefusesUnderscoreBases: root paths starting with _ are restkit's
// (/_admin, /_uploads; DESIGN §14): no API base may start with /_, and resource and
// noun names cannot start with _.
func TestPrepareRefusesUnderscoreBases(t *testing.T) {
	fields := func() []*restkit.Field { return []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}} }
	s := &restkit.Schema{APIs: []*restkit.API{
		{Base: "/_uploads", Resources: []*restkit.Resource{{Name: "cars", Key: "id", Fields: fields()}}},
		{Resources: []*restkit.Resource{{Name: "_admin", Key: "id", Fields: fields()}}},
	}}
	var got []string
	for _, fe := range restkit.ErrorFields(s.Prepare()) {
		got = append(got, fe.Field+": "+fe.Message)
	}
	want := []string{
		`apis[0].base: base /_uploads starts with /_: root paths starting with _ belong to restkit (/_admin, /_uploads)`,
		`apis[1].resources._admin: resource name must match ^[a-z][a-z0-9_]{0,62}$`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
