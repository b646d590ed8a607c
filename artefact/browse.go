package artefact

import (
	"context"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/restkit/restkit"
)

// Listing is one page of a directory: its subdirectories (by name) and then its
// artefacts (latest versions, in the query's order).
type Listing struct {
	Directories []string
	Artefacts   []*restkit.Artefact
	More        bool
}

// BrowseQuery pages through a directory: first the subdirectories, by name
// (descending when Files.Sort is "-name"), then the artefacts.
type BrowseQuery struct {
	Files    restkit.ArtefactQuery // Prefix, Sort and Limit apply to the whole listing; After to the artefacts
	AfterDir string                // the last subdirectory of the previous page
	InFiles  bool                  // the previous page ended among the artefacts: no subdirectories
}

// Browse returns a page of a directory; NotFound when it holds nothing at all.
func (r *Repository) Browse(ctx context.Context, dir string, q BrowseQuery) (*Listing, error) {
	out := &Listing{Directories: []string{}, Artefacts: []*restkit.Artefact{}}
	limit := q.Files.Limit
	if !q.InFiles {
		sub, err := r.meta.ListSubdirectories(ctx, dir, restkit.SubdirectoryQuery{Prefix: q.Files.Prefix,
			Desc: q.Files.Sort == "-name", After: q.AfterDir, Limit: limit})
		if err != nil {
			return nil, err
		}
		out.Directories = sub.Names
		if sub.More {
			out.More = true
			return out, nil
		}
	}
	fq := q.Files
	if limit > 0 {
		fq.Limit = limit - len(out.Directories)
		if fq.Limit == 0 {
			fq.Limit = 1 // only to learn whether there are more
		}
	}
	page, err := r.meta.ListArtefacts(ctx, dir, fq)
	if err != nil {
		return nil, err
	}
	switch {
	case limit > 0 && limit == len(out.Directories):
		out.More = len(page.Artefacts) > 0
	default:
		out.Artefacts, out.More = page.Artefacts, page.More
	}
	if len(out.Directories) == 0 && len(out.Artefacts) == 0 && !q.InFiles && q.AfterDir == "" && q.Files.Prefix == "" {
		return nil, restkit.Errorf(restkit.NotFound, "no directory %s", dir)
	}
	return out, nil
}

// Limits of properties: how many a version holds, and how long keys and values are.
const (
	MaxProperties    = 64
	MaxPropertyKey   = 128
	MaxPropertyValue = 1024
)

// CheckProperties validates a version's properties: at most 64; keys of 1 to 128
// letters, digits and . _ - (they are used in ?prop.KEY=VALUE); values of at most
// 1024 bytes of UTF-8 without control characters. Invalid lists every problem.
func CheckProperties(props map[string]string) error {
	var errs []restkit.FieldError
	if len(props) > MaxProperties {
		errs = append(errs, restkit.FieldError{Field: "properties", Message: "a version holds at most 64 properties"})
	}
	for k, v := range props {
		switch {
		case k == "" || len(k) > MaxPropertyKey || strings.IndexFunc(k, badKeyRune) >= 0:
			errs = append(errs, restkit.FieldError{Field: k, Message: "a property key is 1 to 128 letters, digits, . _ or -"})
		case len(v) > MaxPropertyValue:
			errs = append(errs, restkit.FieldError{Field: k, Message: "a property value is at most 1024 bytes"})
		case !utf8.ValidString(v) || strings.IndexFunc(v, isControl) >= 0:
			errs = append(errs, restkit.FieldError{Field: k, Message: "a property value must be UTF-8 without control characters"})
		}
	}
	if len(errs) > 0 {
		return &restkit.Error{Kind: restkit.Invalid, Message: "invalid properties", Fields: errs}
	}
	return nil
}

func badKeyRune(r rune) bool {
	return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '_' || r == '-')
}

// SetProperties replaces the properties of a version (0: the latest), after checking
// them (CheckProperties).
func (r *Repository) SetProperties(ctx context.Context, dir, id string, version int64, props map[string]string) (*restkit.Artefact, error) {
	if err := CheckProperties(props); err != nil {
		return nil, err
	}
	return r.meta.SetProperties(ctx, dir, id, version, props)
}

// WithProperties fills the properties of versions.
func (r *Repository) WithProperties(ctx context.Context, as ...*restkit.Artefact) error {
	return r.meta.LoadProperties(ctx, as)
}

// FindByProperties returns a page of the versions holding every pair of q.Match.
func (r *Repository) FindByProperties(ctx context.Context, q restkit.PropertyQuery) ([]*restkit.Artefact, bool, error) {
	return r.meta.FindByProperties(ctx, q)
}

// downloadEvery is how seldom a version's download is written down: at most once an
// hour per version and process, enough for cleanup policies counted in days.
const downloadEvery = time.Hour

// downloads remembers when each version's download was last written down.
type downloads struct {
	mu   sync.Mutex
	last map[restkit.VersionKey]time.Time
}

// Downloaded records that a version was downloaded, unless that was written down
// less than an hour ago. A failure (a full disk) is logged and forgotten: a download
// never fails for it.
func (r *Repository) Downloaded(ctx context.Context, a *restkit.Artefact) {
	now := r.now()
	k := restkit.VersionKey{Directory: a.Directory, ID: a.ID, Version: a.Version}
	r.downloads.mu.Lock()
	if t, ok := r.downloads.last[k]; ok && now.Sub(t) < downloadEvery {
		r.downloads.mu.Unlock()
		return
	}
	if r.downloads.last == nil || len(r.downloads.last) > 100_000 {
		r.downloads.last = map[restkit.VersionKey]time.Time{}
	}
	r.downloads.last[k] = now
	r.downloads.mu.Unlock()
	if err := r.meta.RecordDownload(context.WithoutCancel(ctx), a.Directory, a.ID, a.Version, now.UTC()); err != nil {
		r.log.Warn("recording a download failed", "path", a.Path(), "version", a.Version, "error", err.Error())
	}
}
