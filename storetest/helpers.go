package storetest

import (
	"context"
	"testing"

	"github.com/restkit/restkit"
)

// Helpers for a store's own tests, shared so that sqlite's and postgres's do not
// each keep a copy. They fail the test on any error.

// Cars declares and prepares a one-resource schema — cars, keyed by an integer id,
// with model (required), color and year (sortable, filterable) — for migration tests;
// edit changes the declaration before Prepare.
func Cars(tb testing.TB, edit func(r *restkit.Resource)) *restkit.Schema {
	tb.Helper()
	s := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{carsResource(edit)}}}}
	if err := s.Prepare(); err != nil {
		tb.Fatalf("Prepare: %v %+v", err, restkit.ErrorFields(err))
	}
	return s
}

// carsResource is Cars' resource, not prepared yet.
func carsResource(edit func(r *restkit.Resource)) *restkit.Resource {
	r := &restkit.Resource{Name: "cars", Key: "id", Fields: []*restkit.Field{
		{Name: "id", Type: restkit.TypeInteger},
		{Name: "model", Type: restkit.TypeString, Required: true, Filterable: true},
		{Name: "color", Type: restkit.TypeString, Sortable: true, Filterable: true},
		{Name: "year", Type: restkit.TypeInteger, Sortable: true, Filterable: true},
	}}
	if edit != nil {
		edit(r)
	}
	return r
}

// FieldOf finds a field of a resource that may not be prepared yet; it panics when
// there is none (a mistake in the test).
func FieldOf(r *restkit.Resource, name string) *restkit.Field {
	for _, f := range r.Fields {
		if f.Name == name {
			return f
		}
	}
	panic("no field " + name)
}

// Without removes a field from a resource not prepared yet.
func Without(r *restkit.Resource, name string) {
	for i, f := range r.Fields {
		if f.Name == name {
			r.Fields = append(r.Fields[:i], r.Fields[i+1:]...)
			return
		}
	}
}

// Put writes a record with values (its key among them), updated at the suite's t0.
func Put(tb testing.TB, s restkit.Store, res *restkit.Resource, values map[string]any) *restkit.Record {
	tb.Helper()
	rec, err := s.WriteRecord(context.Background(), res, values[res.Key], func(*restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: copyMap(values), Updated: t0}, nil
	})
	if err != nil {
		tb.Fatalf("WriteRecord %v: %v", values, err)
	}
	return rec
}

// MustMigrate migrates s to sc.
func MustMigrate(tb testing.TB, s restkit.Store, sc *restkit.Schema) {
	tb.Helper()
	if err := s.Migrate(context.Background(), sc); err != nil {
		tb.Fatalf("Migrate: %v %+v", err, restkit.ErrorFields(err))
	}
}

// WantRefusal fails unless Migrate(sc) is refused with exactly message, as the one
// failing field named field ("<table>.<field>").
func WantRefusal(tb testing.TB, s restkit.Store, sc *restkit.Schema, message, field string) {
	tb.Helper()
	err := s.Migrate(context.Background(), sc)
	if !restkit.IsKind(err, restkit.Invalid) {
		tb.Fatalf("Migrate = %v, want an Invalid refusal", err)
	}
	if got := restkit.ErrorMessage(err); got != message {
		tb.Errorf("refusal message:\ngot  %s\nwant %s", got, message)
	}
	if fe := restkit.ErrorFields(err); len(fe) != 1 || fe[0].Field != field || fe[0].Message != message {
		tb.Errorf("refusal fields = %+v, want one for %s", fe, field)
	}
}
