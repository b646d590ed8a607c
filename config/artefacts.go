package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/artefact"
	"github.com/restkit/restkit/auth"
)

// Artefacts is the optional artefacts: section: where the artefact repository is
// served, and its limits and retention.
type Artefacts struct {
	Path   string          // path: the repository's URL path, e.g. /artefacts (absolute, no trailing slash)
	Policy artefact.Policy // max_size, keep_versions, min_free; Directories in file order
	// Capability names the switch the repository is served under; "" for none.
	Capability string
	// Access is who may do what (access: of the repository and of each directory
	// rule, in file order); it applies only with a top-level auth: section.
	Access auth.Artefacts
}

// Defaults of the artefacts: section. The other settings default to 0: no size
// limit, keep every version.
const (
	DefaultArtefactsPath       = "/artefacts"
	DefaultMinFree       int64 = 64 << 20 // 64 MiB
)

var (
	artefactsKeys = []string{"path", "max_size", "keep_versions", "min_free", "access", "directories", "cleanup", "cleanup_every", "capability"}
	directoryKeys = []string{"keep_versions", "max_size", "access"}
)

// artefacts reads the artefacts: section. A null section (artefacts: with nothing
// under it) is the repository with every default, like artefacts: {}.
func (d *decoder) artefacts(e entry) *Artefacts {
	d.recKey("artefacts", e)
	es, ok := d.mapping(e.value, e.at(), "artefacts", "in artefacts", artefactsKeys)
	if !ok {
		d.flagged["artefacts"] = true
		return nil
	}
	a := DefaultArtefacts()
	for _, s := range es {
		p := "artefacts." + s.key
		d.rec(p, s)
		switch s.key {
		case "path":
			v, ok := d.str(s, p)
			if s.isNull() {
				delete(d.at, p) // path: with no value is the default, not a path written here
			}
			if !ok || s.isNull() {
				continue
			}
			if msg := badURLPath(v); msg != "" {
				d.fail(p, s.at(), "%s", msg)
				continue
			}
			a.Path = v
		case "max_size":
			if n, ok := d.sizeOrZero(s, p); ok {
				a.Policy.MaxSize = n
			}
		case "keep_versions":
			n, _ := d.integer(s, p, 0, math.MaxInt32)
			a.Policy.KeepVersions = int(n)
		case "min_free":
			if n, ok := d.sizeOrZero(s, p); ok {
				a.Policy.MinFree = n
			}
		case "capability":
			a.Capability, _ = d.str(s, p)
		case "access":
			a.Access.Access = d.access(s, p)
			for _, fe := range restkit.CheckAccess(p, a.Access.Access) {
				d.errorAt(d.where(fe.Field, fe.Message), "%s", fe.Message)
			}
		case "directories":
			a.Policy.Directories, a.Access.Directories = d.directories(s, p)
		case "cleanup":
			a.Policy.Cleanup = d.cleanup(s, p)
		case "cleanup_every":
			a.Policy.CleanupEvery = d.age(s, p)
		}
	}
	return a
}

// badURLPath says what is wrong with p as the repository's URL path, or "".
func badURLPath(p string) string {
	switch {
	case !strings.HasPrefix(p, "/"):
		return fmt.Sprintf("path must be an absolute URL path such as /artefacts, not %q", clip(p))
	case p == "/":
		return `path must not be the root "/"; choose one such as /artefacts`
	case strings.HasPrefix(p, "/_") || p == "/ui" || strings.HasPrefix(p, "/ui/"):
		return fmt.Sprintf("path must not start with /_ or be /ui: those belong to restkit, not %q", clip(p))
	case strings.HasSuffix(p, "/"):
		return fmt.Sprintf("path must not end with a slash: write %q", clip(strings.TrimRight(p, "/")))
	}
	for _, seg := range strings.Split(p[1:], "/") {
		switch {
		case seg == "":
			return fmt.Sprintf("path must not contain an empty segment (//), not %q", clip(p))
		case seg == "." || seg == "..":
			return fmt.Sprintf("path must not contain . or .. segments, not %q", clip(p))
		case strings.ContainsFunc(seg, func(r rune) bool { return !isPathChar(r) }):
			return fmt.Sprintf("path may use only letters, digits and - . _ ~ between its slashes, not %q", clip(p))
		}
	}
	return ""
}

// isPathChar reports whether r is an unreserved URL character (RFC 3986), the ones
// a path segment can hold without escaping.
func isPathChar(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("-._~", r)
}

// directories reads the ordered mapping of directory-name globs to overrides.
func (d *decoder) directories(e entry, p string) ([]artefact.DirectoryPolicy, []auth.DirectoryAccess) {
	es, _ := d.mapping(e.value, e.at(), "directories", "in artefacts.directories", nil)
	var out []artefact.DirectoryPolicy
	var access []auth.DirectoryAccess
	for _, g := range es {
		gp := p + "[" + strconv.Quote(g.key) + "]"
		d.recKey(gp, g)
		if msg := restkit.CheckDirectoryPattern(g.key); msg != "" {
			d.fail(gp, g.keyAt, "directory pattern %q: %s", clip(g.key), msg)
		}
		what := "directory rule " + strconv.Quote(clip(g.key))
		settings, ok := d.mapping(g.value, g.at(), what, "in "+what, directoryKeys)
		if !ok {
			continue
		}
		rule := artefact.DirectoryPolicy{Pattern: g.key}
		for _, s := range settings {
			sp := gp + "." + s.key
			d.rec(sp, s)
			// In a rule 0 means "inherit the repository's setting", which is not what
			// keep_versions: 0 or max_size: 0 say at the top: refuse it rather than
			// quietly doing the other thing.
			switch s.key {
			case "keep_versions":
				n, ok := d.integer(s, sp, 0, math.MaxInt32)
				if ok && n == 0 && !s.isNull() {
					d.fail(sp, s.at(), "keep_versions in a directory rule must be at least 1; 0 cannot lift the repository's limit")
				}
				rule.KeepVersions = int(n)
			case "max_size":
				n, ok := d.sizeOrZero(s, sp)
				if ok && n == 0 {
					d.fail(sp, s.at(), "max_size in a directory rule must be at least 1 byte; 0 cannot lift the repository's limit")
				}
				rule.MaxSize = n
			case "access":
				acc := d.access(s, sp)
				for _, fe := range restkit.CheckAccess(sp, acc) {
					d.errorAt(d.where(fe.Field, fe.Message), "%s", fe.Message)
				}
				access = append(access, auth.DirectoryAccess{Pattern: g.key, Access: acc})
			}
		}
		out = append(out, rule)
	}
	return out, access
}

// artefactsCollisions reports the repository's path when it overlaps a resource's or
// a noun's: the same path, or one inside the other (/v1 would hold /v1/people as a
// directory; /cars/old would be car "old"). The first overlap is reported, with the
// line of the declaration it overlaps.
func (d *decoder) artefactsCollisions(a *Artefacts, s *restkit.Schema) {
	if a == nil || d.tooLarge {
		return
	}
	if a.Capability != "" && (s.Capability(a.Capability) == nil || a.Capability == restkit.ReadOnly) {
		d.errorAt(d.where("artefacts.capability", ""), "unknown capability %q; declare it under capabilities: (read_only cannot be attached to one part)", a.Capability)
	}
	if s.Auth == nil {
		if a.Access.Access.IsSet() {
			d.errorAt(d.where("artefacts.access", ""), "access rules need a top-level auth: section (users and keys)")
		}
		for _, r := range a.Access.Directories {
			if r.Access.IsSet() {
				d.errorAt(d.where("artefacts.directories["+strconv.Quote(r.Pattern)+"].access", ""), "access rules need a top-level auth: section (users and keys)")
			}
		}
	}
	if d.flagged["artefacts.path"] {
		return
	}
	// The singular alias (/artefact for /artefacts) is served too: it must not overlap either.
	paths := []string{a.Path}
	if alias := strings.TrimSuffix(a.Path, "s"); alias != a.Path {
		paths = append(paths, alias)
	}
	overlaps := func(route string) bool {
		for _, p := range paths {
			if p == route || strings.HasPrefix(p, route+"/") || strings.HasPrefix(route, p+"/") {
				return true
			}
		}
		return false
	}
	report := func(kind, name, route, declared string) {
		line := d.where(declared, "").line
		if len(paths) > 1 && (route == paths[1] || strings.HasPrefix(route, paths[1]+"/") || strings.HasPrefix(paths[1], route+"/")) {
			route += " (the repository's alias " + paths[1] + ")"
		}
		if _, explicit := d.at["artefacts.path"]; explicit {
			d.errorAt(d.at["artefacts.path"], "path %s collides with %s %s at %s, declared at line %d", a.Path, kind, name, route, line)
			return
		}
		d.errorAt(d.at["artefacts"], "the repository's default path %s collides with %s %s at %s, declared at line %d; choose another with path:", a.Path, kind, name, route, line)
	}
	for i, api := range s.APIs {
		at := fmt.Sprintf("apis[%d]", i)
		for _, r := range api.Resources {
			rat := at + ".resources." + r.Name
			if route := api.ListPath(r); overlaps(route) {
				report("resource", r.Name, route, rat+".path")
				return
			}
			if route := api.ItemsPath(r); overlaps(route) {
				report("resource", r.Name, route, rat+".item_path")
				return
			}
		}
		for _, n := range api.Nouns {
			if route := api.Base + "/" + n.Name; overlaps(route) {
				report("noun", n.Name, route, at+".nouns."+n.Name)
				return
			}
		}
	}
}

// ArtefactAccess is the access rules of the repository, for auth.New: nil when the
// config serves no repository.
func (c *Config) ArtefactAccess() *auth.Artefacts {
	if c.Artefacts == nil {
		return nil
	}
	return &c.Artefacts.Access
}

// DefaultArtefacts is the artefacts: section with every default (artefacts: {}): the
// repository at /artefacts, no size limit, every version kept, uploads refused below
// 64 MiB of free disk. A config built in Go adds a repository with it.
func DefaultArtefacts() *Artefacts {
	return &Artefacts{Path: DefaultArtefactsPath, Policy: artefact.Policy{MinFree: DefaultMinFree}}
}
