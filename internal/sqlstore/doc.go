// Package sqlstore holds what restkit's two SQL stores, package sqlite and package
// postgres, decide alike: the parts of a store that depend on restkit's declarations
// and on the layout both stores give their tables, not on an SQL dialect or a driver.
// Each store keeps its own SQL text, connections, locking and error mapping, and calls
// this package for the rest, so that a rule written here holds in both stores at once
// — they promise the same answers (storetest runs one suite against both), and before
// this package existed the newer store kept that promise by copying the older one.
//
// # Values
//
// A field's type maps to a Kind, the storage class of its column: text, integer, real,
// boolean or datetime. Each store maps a kind to a column type of its dialect (SQLite's
// INTEGER for booleans, PostgreSQL's boolean) and converts values to and from its
// driver's types itself; what is shared is the classification, and the text forms both
// stores write: datetimes as fixed-width restkit.TimeLayout text (FormatTime,
// ParseTime), whose text order is time order, and a noun's state or a history
// revision as one JSON object (EncodeState, DecodeState), decoded through the current
// declaration so that a field removed since is dropped on read.
//
// # Rows of the store's own tables
//
// Nouns (_restkit_nouns), history tables and artefact metadata have the same columns
// in both stores, so reading a row of them back is shared: NounColumns, RevisionColumns
// and ArtefactColumns name the columns a store selects, in the order ScanNoun,
// ScanRevision and ScanArtefact read them (from any Scanner: database/sql's or pgx's
// rows). What WriteNoun stores for a change's result (ChangeNoun), the tombstone a
// delete appends to a history (Tombstone), the artefact sorts a listing takes
// (ArtefactSort) and the NotFound of an artefact are decided here too. A resource's
// own table is not: its row layout, scanning and value conversion are tied to each
// store's prepared statements and driver types.
//
// # Migrations
//
// Both stores migrate by the same rules (see their package docs): additive changes
// are made, destructive or ambiguous ones refused with an Invalid error that says
// what changed and what to do, and then nothing is changed. The rules are decided
// here, once; the SQL that finds out what is there and makes the changes stays in
// each store. Per resource, a store
//
//   - reads its table's columns (types as its catalog reports them) and what
//     _restkit_fields records of the table (Found), in Migrate's transaction;
//   - creates a missing table itself, since that needs no decision;
//   - otherwise calls Migration.Plan, which refuses a table restkit did not make, a
//     changed key, a type it cannot convert and a new required field without a
//     default on a table with rows, and plans the rest as steps (restkit.MigrationStep):
//     renames (renamed_from), drops of removed fields, retypes, narrows (FieldSpec
//     records each field's constraints in _restkit_fields to notice them) and the
//     columns to add. Drops, retypes and narrows are destructive: Migrate refuses
//     them, pointing to restkit migrate, and MigrateWith carries them out when its
//     options allow;
//   - carries the plan out in its own SQL, with the shared steps that touch values
//     (ConvertColumn and CheckColumn over the store's Values, RewriteStates over its
//     history table's States, MigrateNoun), and creates and drops indexes as
//     IndexChanges says, refusing a unique index over duplicates with
//     RefuseDuplicates.
//
// The refusal messages are written here and nowhere else, so both stores give the
// same words, and the Dialect hooks fill in only what differs: a column type, how a
// type read back compares, whether the table has rows (asked only when a column is
// to be added), and PostgreSQL's check that a default can be written as a constant,
// whose refusal takes its place among the others. Which indexes a declaration wants is not
// shared: SQLite appends the key to every index entry, so a unique field needs no
// second index for sorting, while PostgreSQL needs both — each store's doc says so.
// Label, Refusal, HistoryClashes, CheckHistoryKey and CheckNoun are the other
// refusals Migrate shares.
//
// Nothing here touches a database, imports a driver or writes SQL.
package sqlstore
