package artefact

import (
	"time"

	"github.com/restkit/restkit"
)

// Policy holds the repository's limits and retention. Directory rules refine it: the
// first rule whose glob covers a directory (restkit.MatchDirectory: the directory or
// an ancestor matches) overrides the values it sets.
type Policy struct {
	MaxSize      int64 // largest accepted upload in bytes; 0: no limit
	KeepVersions int   // versions kept per artefact, oldest pruned first; 0: keep every one
	MinFree      int64 // refuse uploads (507) while the data disk has less free space than this
	Directories  []DirectoryPolicy
	// Cleanup are the cleanup policies, in order: each version is judged by the first
	// one whose Match covers its directory.
	Cleanup []CleanupRule
	// CleanupEvery is how often the policies run (0: hourly).
	CleanupEvery time.Duration
}

// DirectoryPolicy overrides the repository's policy for the directories whose path
// Pattern covers ("releases", "team-*", "org/*/snapshots/**"). Zero fields inherit.
type DirectoryPolicy struct {
	Pattern      string
	KeepVersions int
	MaxSize      int64
}

// CleanupRule deletes the versions of the artefacts below Match that every criterion
// it sets selects: stored longer ago than OlderThan, not among the KeepLatest newest
// versions of their artefact, not downloaded for NotDownloadedFor (a version never
// downloaded counts from when it was stored). A criterion left zero selects every
// version; a rule needs at least one of OlderThan and NotDownloadedFor.
type CleanupRule struct {
	Match            string
	OlderThan        time.Duration
	KeepLatest       int
	NotDownloadedFor time.Duration
}

// For returns the effective policy of a directory.
func (p Policy) For(dir string) Policy {
	out := p
	out.Directories = nil
	for _, d := range p.Directories {
		if restkit.MatchDirectory(d.Pattern, dir) {
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

// cleanupRule returns the cleanup rule of a directory, or nil.
func (p Policy) cleanupRule(dir string) *CleanupRule {
	for i := range p.Cleanup {
		if restkit.MatchDirectory(p.Cleanup[i].Match, dir) {
			return &p.Cleanup[i]
		}
	}
	return nil
}
