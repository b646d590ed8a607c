package sqlstore

import "github.com/restkit/restkit"

// Kind is how a field's canonical value is stored: one storage class per group of
// field types that share a canonical Go type. Both stores give a field of a kind a
// column of that kind's type (each in its own dialect: see their sqlType) and encode
// and decode its values by kind.
type Kind uint8

const (
	KText Kind = iota // string, enum, email, url
	KInt              // integer
	KReal             // number
	KBool             // boolean
	KTime             // datetime, as restkit.TimeLayout text (FormatTime)
	KJSON             // json, array, many relation: JSON text (SQLite TEXT, PostgreSQL jsonb)
)

// FieldKind returns the kind a field is stored as: a single relation as its target's
// key, json, arrays and many relations as JSON.
func FieldKind(f *restkit.Field) Kind { return KindOf(f.StorageType()) }

// KindOf returns the kind a field of storage type t (restkit.Field.StorageType) is
// stored as.
func KindOf(t restkit.FieldType) Kind {
	switch t {
	case restkit.TypeJSON, restkit.TypeArray:
		return KJSON
	case restkit.TypeInteger:
		return KInt
	case restkit.TypeNumber:
		return KReal
	case restkit.TypeBoolean:
		return KBool
	case restkit.TypeDatetime:
		return KTime
	}
	return KText
}
