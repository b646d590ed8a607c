package restkit

import (
	"context"
	"fmt"
)

// MigrationOp is what one step of a schema migration does.
type MigrationOp string

const (
	MigrateCreate MigrationOp = "create" // a table for a new resource
	MigrateAdd    MigrationOp = "add"    // a column for a new field; existing records take its default
	MigrateRename MigrationOp = "rename" // a field declared renamed_from another keeps its values, history included
	MigrateDrop   MigrationOp = "drop"   // a removed field's column and values (destructive)
	MigrateRetype MigrationOp = "retype" // a field's values converted to its new type (destructive)
	MigrateNarrow MigrationOp = "narrow" // a field now allows fewer values; every stored one is checked (destructive)
	MigrateReset  MigrationOp = "reset"  // a noun's stored value of a removed or narrowed field, dropped (destructive)
)

// MigrationStep is one step of the plan a migration carries out.
type MigrationStep struct {
	Op          MigrationOp
	Table       string // the storage name of the resource or noun (Resource.StoreName)
	Field       string // the field, "" for the whole table
	Detail      string // what changes, for people: "integer → string", "from year"
	Destructive bool   // it deletes or rewrites stored values: it needs MigrateOptions.AllowDestructive
}

func (s MigrationStep) String() string {
	where := s.Table
	if s.Field != "" {
		where += "." + s.Field
	}
	text := fmt.Sprintf("%-7s %s", s.Op, where)
	if s.Detail != "" {
		text += ": " + s.Detail
	}
	if s.Destructive {
		text += " (destructive)"
	}
	return text
}

// MigrateOptions say what a migration may do beyond the additive.
type MigrateOptions struct {
	// DryRun carries the whole plan out inside the migration's transaction — every
	// stored value it converts or checks is converted or checked — and then rolls it
	// back: the steps and any refusal are what a real run would give.
	DryRun bool
	// AllowDestructive applies destructive steps (drop, retype, narrow, reset); without
	// it they are refused, as Store.Migrate refuses them.
	AllowDestructive bool
}

// MigrationPlanner is a Store that plans its migrations and can carry out the
// destructive ones (the SQL stores). MigrateWith returns the steps of the plan, in
// the order they are carried out, also when it refuses (then nothing is changed);
// Migrate is MigrateWith with no options.
type MigrationPlanner interface {
	MigrateWith(ctx context.Context, s *Schema, o MigrateOptions) ([]MigrationStep, error)
}
