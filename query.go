package restkit

// Op is a filter operator.
type Op string

const (
	OpEq     Op = "eq"
	OpNe     Op = "ne"
	OpLt     Op = "lt"
	OpLte    Op = "lte"
	OpGt     Op = "gt"
	OpGte    Op = "gte"
	OpIn     Op = "in"     // Values holds the candidates
	OpPrefix Op = "prefix" // string fields only
	OpNull   Op = "null"   // Value is true (is null / unset) or false (has a value)
)

// Ops lists the operators in documentation order.
var Ops = []Op{OpEq, OpNe, OpLt, OpLte, OpGt, OpGte, OpIn, OpPrefix, OpNull}

// Filter restricts a list to records whose Field compares to Value by Op. Values are
// canonical. Comparisons with an unset (null) field are false, except OpNull and OpNe.
type Filter struct {
	Field  string
	Op     Op
	Value  any
	Values []any
}

// SortKey orders by one field.
type SortKey struct {
	Field string
	Desc  bool
}

// Query is a parsed list request, already checked against the resource.
//
// Keyset paging: Sort is a total order (it always ends with the key), so a page
// boundary is identified by the Sort values of the row at its edge. After asks for the
// rows strictly after such values, Before for the rows strictly before them (the Limit
// rows closest to the boundary, returned in Sort order). A store answers with an index
// range scan whose cost does not depend on how deep the page is, unlike OFFSET, which
// must count past every skipped row. Offset paging (page=N) remains for small sets.
type Query struct {
	Filters []Filter
	Sort    []SortKey // never empty once parsed; the key is the last entry
	Limit   int
	After   []any // keyset forward: Sort values of the last row of the previous page
	Before  []any // keyset backward: Sort values of the first row of the next page
	Last    bool  // the final Limit rows (a backward read from the end)
	Offset  int   // rows to skip (page=N); not combined with After/Before/Last
	Count   bool  // fill Page.Total
}

// Backward reports whether the query reads toward the start of the order.
func (q *Query) Backward() bool { return q.Before != nil || q.Last }

// Page is one page of a list.
type Page struct {
	Records []*Record // in Sort order
	More    bool      // more rows exist past this page in the direction read
	Total   int64     // matching rows when Query.Count, else -1
}
