package httpapi

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/restkit/restkit"
)

const csvType = "text/csv; charset=utf-8; header=present"

// exportBatch is how many rows a CSV export reads from the store at a time.
const exportBatch = 500

// csvWriter writes records as RFC 4180 CSV (encoding/csv quotes as needed), header
// first, in the view's field order, then a flattened column per field of each
// expanded single relation ("author.name"); the fields of a many relation's records
// are JSON arrays ("tags.label": ["Go","Web"]).
type csvWriter struct {
	*csv.Writer
	v    view
	exps []*expansion
	row  []string
}

func newCSVWriter(w io.Writer, v view, exps []*expansion) *csvWriter {
	cw := &csvWriter{Writer: csv.NewWriter(w), v: v, exps: exps, row: make([]string, 0, len(v.Fields))}
	for _, f := range v.Fields {
		cw.row = append(cw.row, f.Name)
	}
	cw.row = appendCSVHeader(cw.row, "", exps)
	_ = cw.Write(cw.row)
	return cw
}

// appendCSVHeader appends the flattened columns of the expansions under prefix.
func appendCSVHeader(row []string, prefix string, exps []*expansion) []string {
	for _, e := range exps {
		p := prefix + e.field.Name + "."
		for _, f := range e.view.Fields {
			row = append(row, p+f.Name)
		}
		if !e.field.Many {
			row = appendCSVHeader(row, p, e.sub)
		}
	}
	return row
}

func (cw *csvWriter) writeRecords(recs []*restkit.Record, ex []expanded) {
	for i, rec := range recs {
		cw.row = cw.row[:0]
		for _, f := range cw.v.Fields {
			cw.row = append(cw.row, csvCell(f, rec.Values[f.Name]))
		}
		cw.row = appendCSVExpanded(cw.row, expandedAt(ex, i), cw.exps)
		_ = cw.Write(cw.row)
	}
}

// appendCSVExpanded appends the flattened cells of one record's expansions, empty
// where a relation is unset (the same columns as appendCSVHeader).
func appendCSVExpanded(row []string, ex expanded, exps []*expansion) []string {
	for i, e := range exps {
		var x any
		if ex != nil {
			x = ex[i]
		}
		switch x := x.(type) {
		case *expandedRecord:
			for _, f := range e.view.Fields {
				row = append(row, csvCell(f, x.rec.Values[f.Name]))
			}
			row = appendCSVExpanded(row, x.exp, e.sub)
		case []*expandedRecord:
			for _, f := range e.view.Fields {
				vals := make([]any, len(x))
				for i, r := range x {
					vals[i] = r.rec.Values[f.Name]
				}
				row = append(row, string(appendValue(nil, vals)))
			}
		default:
			for range e.view.Fields {
				row = append(row, "")
			}
			if !e.field.Many {
				row = appendCSVExpanded(row, nil, e.sub)
			}
		}
	}
	return row
}

// csvCell formats a value for CSV. Text that a spreadsheet would run as a formula
// (starting with = + - @, tab or carriage return) gets a leading apostrophe, the
// OWASP advice against CSV injection; numbers are never touched.
func csvCell(f *restkit.Field, v any) string {
	s := restkit.Format(v)
	if list, ok := v.([]any); ok { // an array or a many relation: JSON text, so ["a,b"] is not ["a","b"]
		if b, err := json.Marshal(list); err == nil {
			s = string(b)
		}
	}
	// A spreadsheet runs a cell that starts like a formula: text of any kind gets a
	// quote first (numbers, booleans and times cannot start so, save a minus sign).
	numeric := f.Type == restkit.TypeInteger || f.Type == restkit.TypeNumber
	if !numeric && s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// exportCSV streams every record matching the list's filters, in its sort order, when
// CSV is asked for without limit, cursor or page: an export. It walks the list by
// keyset, exportBatch rows at a time, flushing each batch, so memory stays constant
// however many rows there are and every row appears exactly once even while others are
// written. A failure after the first byte can only end the body early; it is logged.
func (h *resourceHandler) exportCSV(w http.ResponseWriter, r *http.Request, lr *listRequest, exps []*expansion) {
	q := lr.q
	q.Limit = exportBatch
	page, err := h.s.store.ListRecords(r.Context(), h.res, &q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", csvType)
	hdr.Set("Cache-Control", h.res.CacheControl)
	if q.Count {
		hdr.Set("X-Total-Count", strconv.FormatInt(page.Total, 10))
	}
	q.Count = false
	cw := newCSVWriter(w, lr.view, exps)
	flusher, _ := w.(http.Flusher)
	for {
		ex, err := h.s.expand(r.Context(), page.Records, exps)
		if err != nil {
			h.s.log.LogAttrs(r.Context(), slog.LevelError, "CSV export cut short", slog.String(keyPath, r.URL.Path), slog.Any(keyError, err))
			return
		}
		cw.writeRecords(page.Records, ex)
		cw.Flush()
		if flusher != nil {
			flusher.Flush()
		}
		if !page.More || len(page.Records) == 0 {
			return
		}
		last := page.Records[len(page.Records)-1]
		q.After = make([]any, len(q.Sort))
		for i, k := range q.Sort {
			q.After[i] = last.Values[k.Field]
		}
		if page, err = h.s.store.ListRecords(r.Context(), h.res, &q); err != nil {
			h.s.log.LogAttrs(r.Context(), slog.LevelError, "CSV export cut short", slog.String(keyPath, r.URL.Path), slog.Any(keyError, err))
			return
		}
	}
}
