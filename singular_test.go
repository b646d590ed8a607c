package restkit_test

import (
	"strings"
	"testing"

	"github.com/restkit/restkit"
)

// TestSingular: English plurals become their singular by the rule table; names that
// are not plurals stay as they are (no "_item" suffix); the last word of a snake_case
// name is the one singularised.
func TestSingular(t *testing.T) {
	for plural, want := range map[string]string{
		// -s
		"cars": "car", "users": "user", "houses": "house", "archives": "archive", "photos": "photo",
		"keys": "key", "resources": "resource", "types": "type", "ideas": "idea", "metrics": "metric",
		// -ies / -ie
		"categories": "category", "companies": "company", "entries": "entry", "policies": "policy",
		"movies": "movie", "cookies": "cookie", "pies": "pie", "zombies": "zombie",
		// -es after s, x, z, ch, sh
		"addresses": "address", "classes": "class", "processes": "process", "boxes": "box", "indexes": "index",
		"buzzes": "buzz", "quizzes": "quiz", "matches": "match", "churches": "church", "beaches": "beach",
		"coaches": "coach", "caches": "cache", "wishes": "wish", "dishes": "dish",
		// -us, -is, -as singulars and their plurals
		"statuses": "status", "buses": "bus", "bonuses": "bonus", "campuses": "campus", "viruses": "virus",
		"radiuses": "radius", "censuses": "census", "aliases": "alias", "analyses": "analysis", "gases": "gas",
		// -oes
		"heroes": "hero", "potatoes": "potato", "echoes": "echo", "shoes": "shoe", "horseshoes": "horseshoe", "toes": "toe",
		// -ves
		"leaves": "leaf", "wolves": "wolf", "shelves": "shelf", "thieves": "thief", "scarves": "scarf",
		"knives": "knife", "wives": "wife", "lives": "life", "drives": "drive", "valves": "valve", "curves": "curve",
		// irregular
		"people": "person", "children": "child", "women": "woman", "mice": "mouse", "data": "datum", "media": "medium",
		"criteria": "criterion", "indices": "index", "menus": "menu",
		// already singular, or their own plural
		"address": "address", "status": "status", "bus": "bus", "analysis": "analysis", "class": "class",
		"led": "led", "inventory": "inventory", "person": "person", "alias": "alias", "series": "series",
		"species": "species", "news": "news", "s": "s",
		// snake_case: the last word
		"order_items": "order_item", "sales_people": "sales_person", "mail_addresses": "mail_address",
		"home_address": "home_address", "line_": "line_",
	} {
		if got := restkit.Singular(plural); got != want {
			t.Errorf("Singular(%q) = %q, want %q", plural, got, want)
		}
	}
}

// TestSingularInMessages: a resource's messages and XML element use its singular,
// derived or declared.
func TestSingularInMessages(t *testing.T) {
	fields := func() []*restkit.Field { return []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}} }
	address := &restkit.Resource{Name: "address", Key: "id", Fields: fields()}
	addresses := &restkit.Resource{Name: "addresses", Key: "id", Fields: fields(), Singular: "postal_address"}
	s := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{address, addresses}}}}
	if err := s.Prepare(); err != nil {
		t.Fatalf("Prepare: %v %+v", err, restkit.ErrorFields(err))
	}
	if got := restkit.ErrorMessage(address.NotFound(int64(7))); got != "no address with id 7" {
		t.Errorf("address: %q", got)
	}
	if got := restkit.ErrorMessage(addresses.NotFound(int64(7))); got != "no postal_address with id 7" {
		t.Errorf("addresses: %q", got)
	}
}

// TestPrepareChecksSingular: a declared singular must be a name, and two resources
// of one API (or a resource and a noun) cannot share one: the singular names the
// OpenAPI schema and operations of a record, which would collide.
func TestPrepareChecksSingular(t *testing.T) {
	fields := func() []*restkit.Field { return []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}} }
	s := &restkit.Schema{APIs: []*restkit.API{{
		Resources: []*restkit.Resource{
			{Name: "cars", Key: "id", Fields: fields()},
			{Name: "car", Key: "id", Fields: fields()},
			{Name: "boxes", Key: "id", Fields: fields(), Singular: "a box"},
			{Name: "lamps", Key: "id", Fields: fields()},
		},
		Nouns: []*restkit.Noun{{Name: "lamp", Fields: []*restkit.Field{{Name: "on", Type: restkit.TypeBoolean}}}},
	}}}
	var got []string
	for _, fe := range restkit.ErrorFields(s.Prepare()) {
		got = append(got, fe.Field+": "+fe.Message)
	}
	want := []string{
		`apis[0].resources.car: its singular "car" is also resource cars's; declare another singular on one of them`,
		`apis[0].resources.boxes.singular: singular must match ^[a-z][a-z0-9_]{0,62}$, got "a box"`,
		`apis[0].nouns.lamp: its name is also the singular of resource lamps; declare another singular on lamps`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
