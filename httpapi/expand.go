package httpapi

import (
	"context"
	"fmt"
	"hash"
	"hash/fnv"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/auth"
)

// expand= (DESIGN §11): ?expand=author,tags,author.publisher adds
// "expand": {"author": {…}, "tags": [{…}, …]} to each record, the relation field
// keeping its key. A nested path expands inside the expanded record's own "expand".
//
// Expansion is batched: for a page of records, each relation path costs one store
// query per level (the keys every record of the page refers to, in one key IN (…)
// list), never one per record. A path may be at most maxExpandDepth relations long,
// must name relations, and must lead only to resources the caller may read: each is
// checked before anything is read, and a refusal is a 400 naming the path.

const (
	paramExpand    = "expand"
	maxExpandDepth = 3
	// fetchChunk bounds the keys of one key IN (…) query (SQLite's parameters).
	fetchChunk = 1000
)

// expansion is one relation of an expand= path, with the paths that go on from it.
type expansion struct {
	field *restkit.Field
	view  view   // the target's full representation
	elem  string // the target's XML element
	sub   []*expansion
}

// parseExpand reads expand= against res for the caller of r: a comma list of dotted
// relation paths, merged into a tree in the order first named.
func (s *Server) parseExpand(r *http.Request, res *restkit.Resource, raw string) ([]*expansion, error) {
	var roots []*expansion
	for _, path := range strings.Split(raw, ",") {
		segs := strings.Split(path, ".")
		if len(segs) > maxExpandDepth {
			return nil, expandError("%q expands %d relations deep; at most %d", path, len(segs), maxExpandDepth)
		}
		cur, level := res, &roots
		for _, name := range segs {
			f := cur.Field(name)
			switch {
			case name == "":
				return nil, expandError("%q has an empty relation name", path)
			case f == nil || f.Type != restkit.TypeRelation:
				return nil, expandError("%q is not a relation of %s; its relations: %s", name, cur.Name, relationNames(cur))
			case !s.mayRead(r, f):
				return nil, expandError("%s: the caller may not read %s", name, f.Target().Name)
			case !f.Target().Enabled():
				return nil, expandError("%s: %s is not served now (a capability is off)", name, f.Target().Name)
			case !f.Target().Allows(http.MethodGet, true): // expand would show what GET does not
				return nil, expandError("%s: %s records cannot be read (GET of an item is not allowed)", name, f.Target().Name)
			}
			i := slices.IndexFunc(*level, func(e *expansion) bool { return e.field == f })
			if i < 0 {
				t := f.Target()
				*level = append(*level, &expansion{field: f, view: fullView(t.Fields, t.Timestamps), elem: t.Singular})
				i = len(*level) - 1
			}
			cur, level = f.Target(), &(*level)[i].sub
		}
	}
	return roots, nil
}

func expandError(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return &restkit.Error{Kind: restkit.Invalid, Message: "invalid query parameters",
		Fields: []restkit.FieldError{{Field: paramExpand, Message: msg}}}
}

func relationNames(res *restkit.Resource) string {
	var names []string
	for _, f := range res.Relations() {
		names = append(names, f.Name)
	}
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}

// mayRead reports whether the caller of r may read the target of relation f.
func (s *Server) mayRead(r *http.Request, f *restkit.Field) bool {
	if s.auth == nil {
		return true
	}
	acc := s.auth.ResourceAccess(f.TargetAPI(), f.Target())
	return s.auth.Decide(principalOf(r), acc, auth.Read) == auth.Allowed
}

// checkRelatedFilters refuses a filter on a relation's target (author.name=…, in or=
// groups too) when the caller may not read that target: matching is reading, and a
// prefix filter would spell out a field one character at a time.
func (s *Server) checkRelatedFilters(r *http.Request, res *restkit.Resource, filters []restkit.Filter) error {
	if s.auth == nil {
		return nil
	}
	for _, f := range filters {
		switch f.Op {
		case restkit.OpOr, restkit.OpAnd:
			if err := s.checkRelatedFilters(r, res, f.Filters); err != nil {
				return err
			}
		case restkit.OpMatch:
			if rel := res.Field(f.Field); rel != nil && !s.mayRead(r, rel) {
				return &restkit.Error{Kind: restkit.Invalid, Message: "invalid query parameters",
					Fields: []restkit.FieldError{{Field: f.Field, Message: fmt.Sprintf("the caller may not read %s, so it cannot filter on its fields", rel.Target().Name)}}}
			}
		}
	}
	return nil
}

// expanded is what expand= adds to one record, parallel to its expansions: element i
// is the target record (*expandedRecord) or records ([]*expandedRecord, in the order
// of the keys) of exps[i], nil where a single relation is unset or its target gone. A
// record without expansions has a nil expanded.
type expanded []any

// expandedAt is the expanded of record i (nil when nothing was expanded).
func expandedAt(ex []expanded, i int) expanded {
	if ex == nil {
		return nil
	}
	return ex[i]
}

type expandedRecord struct {
	rec *restkit.Record
	exp expanded
}

// expand reads, for recs, the records each expansion refers to, one query per
// expansion (and one per nested level for all of them), and returns each record's
// expanded parallel to recs; nil without expansions. A key whose record is gone
// (deleted since) is left out.
//
// It allocates per page, not per record where it can: the expansions of all the
// records share one backing array, and one map per expansion serves to collect the
// distinct keys, to hold what the store found and to look each record's targets up.
func (s *Server) expand(ctx context.Context, recs []*restkit.Record, exps []*expansion) ([]expanded, error) {
	if len(exps) == 0 || len(recs) == 0 {
		return nil, nil
	}
	out := make([]expanded, len(recs))
	cells := make([]any, len(recs)*len(exps))
	for i := range out {
		out[i] = cells[i*len(exps) : (i+1)*len(exps) : (i+1)*len(exps)]
	}
	for j, e := range exps {
		name := e.field.Name
		// The distinct keys, in the order first met; byKey maps each to its target
		// (nil until found).
		byKey := make(map[any]*expandedRecord, len(recs))
		var keys []any
		add := func(k any) {
			if _, ok := byKey[k]; !ok {
				byKey[k] = nil
				keys = append(keys, k)
			}
		}
		for _, rec := range recs {
			switch v := rec.Values[name].(type) {
			case nil:
			case []any:
				for _, k := range v {
					add(k)
				}
			default:
				add(v)
			}
		}
		targets, err := s.fetch(ctx, e.field.Target(), keys, byKey)
		if err != nil {
			return nil, err
		}
		if len(e.sub) > 0 {
			found := make([]*restkit.Record, len(targets))
			for i := range targets {
				found[i] = targets[i].rec
			}
			subs, err := s.expand(ctx, found, e.sub)
			if err != nil {
				return nil, err
			}
			for i := range targets {
				targets[i].exp = subs[i]
			}
		}
		for i, rec := range recs {
			switch v := rec.Values[name].(type) {
			case nil:
			case []any:
				list := make([]*expandedRecord, 0, len(v))
				for _, k := range v {
					if x := byKey[k]; x != nil {
						list = append(list, x)
					}
				}
				out[i][j] = list
			default:
				if x := byKey[v]; x != nil {
					out[i][j] = x
				}
			}
			if e.field.Many && out[i][j] == nil { // unset many: an empty list
				out[i][j] = []*expandedRecord{}
			}
		}
	}
	return out, nil
}

// fetch reads the records of res with the keys, in batches of fetchChunk keys, and
// puts each into byKey. It returns them in one block, in the store's order.
func (s *Server) fetch(ctx context.Context, res *restkit.Resource, keys []any, byKey map[any]*expandedRecord) ([]expandedRecord, error) {
	found := make([]expandedRecord, 0, len(keys))
	for start := 0; start < len(keys); start += fetchChunk {
		chunk := keys[start:min(start+fetchChunk, len(keys))]
		page, err := s.store.ListRecords(ctx, res, &restkit.Query{Filters: []restkit.Filter{{Field: res.Key, Op: restkit.OpIn, Values: chunk}}})
		if err != nil {
			return nil, err
		}
		for _, rec := range page.Records {
			found = append(found, expandedRecord{rec: rec})
		}
	}
	// byKey points into found only once found has stopped growing.
	for i := range found {
		byKey[found[i].rec.Values[res.Key]] = &found[i]
	}
	return found, nil
}

// appendExpand appends `,"expand":{…}` for the record's expansions, in exps' order.
func appendExpand(b []byte, ex expanded, exps []*expansion) []byte {
	if ex == nil {
		return b
	}
	b = append(b, `,"expand":{`...)
	first := true
	for i, e := range exps {
		v := ex[i]
		if v == nil {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, e.field.Name)
		b = append(b, ':')
		switch x := v.(type) {
		case *expandedRecord:
			b = e.view.appendExpanded(b, x.rec, x.exp, e.sub)
		case []*expandedRecord:
			b = append(b, '[')
			for i, r := range x {
				if i > 0 {
					b = append(b, ',')
				}
				b = e.view.appendExpanded(b, r.rec, r.exp, e.sub)
			}
			b = append(b, ']')
		}
	}
	return append(b, '}')
}

// appendXMLExpand appends <expand> with one element per expanded relation: the
// target record for a single relation, a list of them for a many one.
func appendXMLExpand(b []byte, ex expanded, exps []*expansion) []byte {
	if ex == nil {
		return b
	}
	b = append(b, "<expand>"...)
	for i, e := range exps {
		switch x := ex[i].(type) {
		case *expandedRecord:
			b = e.view.appendXMLExpanded(b, e.field.Name, x.rec, x.exp, e.sub)
		case []*expandedRecord:
			b = append(b, '<')
			b = append(b, e.field.Name...)
			b = append(b, '>')
			for _, r := range x {
				b = e.view.appendXMLExpanded(b, e.elem, r.rec, r.exp, e.sub)
			}
			b = append(b, "</"...)
			b = append(b, e.field.Name...)
			b = append(b, '>')
		}
	}
	return append(b, "</expand>"...)
}

// expandedTag is the ETag of a record shown with its expansions: weak (the bytes of
// the expanded records are not all the record's own), and different whenever any
// record of the representation changes, so a cache never revalidates a stale
// expansion with the record's own tag (RFC 9110 §8.8.3).
func expandedTag(base string, ex expanded, exps []*expansion) string {
	h := fnv.New64a()
	h.Write([]byte(base))
	hashExpanded(h, ex, exps)
	return `W/"x` + strconv.FormatUint(h.Sum64(), 36) + `"`
}

func hashExpanded(h hash.Hash64, ex expanded, exps []*expansion) {
	if ex == nil {
		return
	}
	for i, e := range exps {
		h.Write([]byte(e.field.Name))
		switch x := ex[i].(type) {
		case *expandedRecord:
			h.Write([]byte(etagOf(x.rec, mediaJSON)))
			hashExpanded(h, x.exp, e.sub)
		case []*expandedRecord:
			for _, r := range x {
				h.Write([]byte(etagOf(r.rec, mediaJSON)))
				hashExpanded(h, r.exp, e.sub)
			}
		}
	}
}
