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
// Nothing here touches a database, imports a driver or writes SQL.
package sqlstore
