package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Error is one problem with a configuration file, at the line and column of the YAML
// node it is about (for a missing key, the mapping that lacks it).
type Error struct {
	File         string
	Line, Column int // 1-based
	Message      string
}

// Error formats the problem as "file:line:col: message", the form editors and CI logs
// recognise. Without a file name it is "line:col: message".
func (e *Error) Error() string {
	if e.File == "" {
		return fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Message)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Message)
}

// Errors is every problem found in one configuration file, in file order. Parse
// returns it as its error; use errors.As to get at the list.
type Errors []*Error

// Error formats the problems one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As and errors.Is see each *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sortErrors puts errs in file order and drops exact repeats.
func sortErrors(errs Errors) Errors {
	slices.SortStableFunc(errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	return slices.CompactFunc(errs, func(a, b *Error) bool { return *a == *b })
}

// suggest returns the option closest to word when it is close enough to be the
// likely intent (a typo, a different case, snake_case for camelCase, an
// abbreviation), or "".
func suggest(word string, options []string) string {
	w := normalize(word)
	if w == "" || len(w) > 64 {
		return ""
	}
	best, bestDist := "", 1<<30
	for _, o := range options {
		if d := levenshtein(w, normalize(o)); d < bestDist {
			best, bestDist = o, d
		}
	}
	if bestDist <= min(2, max(1, utf8.RuneCountInString(w)/2)) {
		return best
	}
	// An abbreviation: bool for boolean, desc for description.
	prefixed := ""
	for _, o := range options {
		if len(w) >= 3 && strings.HasPrefix(normalize(o), w) {
			if prefixed != "" {
				return "" // ambiguous
			}
			prefixed = o
		}
	}
	return prefixed
}

// normalize folds case and drops the separators people mix up: max_length,
// maxLength and max-length all become maxlength.
func normalize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '-' {
			return -1
		}
		return r
	}, strings.ToLower(s))
}

// levenshtein is the edit distance between a and b, counted in runes.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
