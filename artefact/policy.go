package artefact

import "path"

// Policy holds the repository's limits and retention. Directory rules refine it: the
// first rule whose glob matches a directory's name overrides the values it sets.
type Policy struct {
	MaxSize      int64 // largest accepted upload in bytes; 0: no limit
	KeepVersions int   // versions kept per artefact, oldest pruned first; 0: keep every one
	MinFree      int64 // refuse uploads (507) while the data disk has less free space than this
	Directories  []DirectoryPolicy
}

// DirectoryPolicy overrides the repository's policy for the directories whose name
// matches Pattern (path.Match syntax: "releases", "team-*"). Zero fields inherit.
type DirectoryPolicy struct {
	Pattern      string
	KeepVersions int
	MaxSize      int64
}

// For returns the effective policy of a directory.
func (p Policy) For(dir string) Policy {
	out := p
	out.Directories = nil
	for _, d := range p.Directories {
		if ok, _ := path.Match(d.Pattern, dir); ok {
			if d.KeepVersions != 0 {
				out.KeepVersions = d.KeepVersions
			}
			if d.MaxSize != 0 {
				out.MaxSize = d.MaxSize
			}
			break
		}
	}
	return out
}
