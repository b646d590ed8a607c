package artefact

import (
	"context"
	"sync"
	"time"

	"github.com/restkit/restkit"
)

// Cleanup policies (DESIGN §14). A run walks every version, by artefact and newest
// first (restkit.ArtefactStore.WalkVersions), judges each by the first policy whose
// glob covers its directory, and deletes the versions every criterion of it selects,
// one at a time, through Delete, the same path as a DELETE ?version=N: content no
// version references any more is freed as always. A dry run only reports. Runs hold
// a lock: in this process, and across nodes through a JobLocker, so that exactly one
// node cleans at a time; a node that finds the lock taken skips its run.

// JobLocker takes a cluster-wide lock on a job unless another node holds it.
type JobLocker interface {
	TryLockJob(ctx context.Context, job string) (unlock func(), ok bool, err error)
}

// jobs serialises cleanup runs.
type jobs struct {
	mu     sync.Mutex
	locker JobLocker
	report func(*CleanupReport)
}

// CleanupReport says what a cleanup run deleted (or, dry, would delete).
type CleanupReport struct {
	DryRun   bool
	Skipped  bool // another node (or run) was cleaning: nothing was done
	Started  time.Time
	Finished time.Time
	Versions []*restkit.Artefact // deleted, or that would be
	// BytesFreed counts the content no version references any more: freed, or
	// that would be.
	BytesFreed int64
	Err        error // what stopped the run, if anything
}

// CleanupJob names the cleanup's lock.
const CleanupJob = "artefact-cleanup"

// Cleanup runs the cleanup policies once (dry: reports only). It also collects
// expired resumable uploads unless dry.
func (r *Repository) Cleanup(ctx context.Context, dry bool) *CleanupReport {
	rep := &CleanupReport{DryRun: dry, Started: r.now().UTC(), Versions: []*restkit.Artefact{}}
	defer func() {
		rep.Finished = r.now().UTC()
		if r.jobs.report != nil {
			r.jobs.report(rep)
		}
	}()
	if !r.jobs.mu.TryLock() {
		rep.Skipped = true
		return rep
	}
	defer r.jobs.mu.Unlock()
	if r.jobs.locker != nil {
		unlock, ok, err := r.jobs.locker.TryLockJob(ctx, CleanupJob)
		if err != nil {
			rep.Err = err
			return rep
		}
		if !ok {
			rep.Skipped = true
			return rep
		}
		defer unlock()
	}
	if !dry {
		if _, err := r.SweepUploads(ctx); err != nil {
			rep.Err = err
			return rep
		}
	}
	if len(r.policy.Cleanup) == 0 {
		return rep
	}
	doomed, err := r.doomed(ctx)
	if err != nil {
		rep.Err = err
		return rep
	}
	rep.Versions = doomed
	rep.BytesFreed, rep.Err = r.freedBy(ctx, doomed, dry)
	return rep
}

// doomed returns the versions the cleanup policies select.
func (r *Repository) doomed(ctx context.Context) ([]*restkit.Artefact, error) {
	now := r.now()
	var out []*restkit.Artefact
	var after *restkit.VersionKey
	rank, lastPath := 0, ""
	for {
		page, err := r.meta.WalkVersions(ctx, after, 1000)
		if err != nil {
			return nil, err
		}
		for _, v := range page {
			if p := v.Path(); p != lastPath {
				rank, lastPath = 0, p
			}
			rank++ // 1 for the newest version of its artefact
			rule := r.policy.cleanupRule(v.Directory)
			if rule != nil && rule.selects(v, rank, now) {
				out = append(out, v.Artefact)
			}
		}
		if len(page) < 1000 {
			return out, nil
		}
		last := page[len(page)-1]
		after = &restkit.VersionKey{Directory: last.Directory, ID: last.ID, Version: last.Version}
	}
}

// selects reports whether every criterion of the rule selects the version, the
// rank-th newest of its artefact.
func (c *CleanupRule) selects(v *restkit.VersionUse, rank int, now time.Time) bool {
	if c.KeepLatest > 0 && rank <= c.KeepLatest {
		return false
	}
	if c.OlderThan > 0 && now.Sub(v.Updated) < c.OlderThan {
		return false
	}
	if c.NotDownloadedFor > 0 {
		last := v.Downloaded
		if last.IsZero() || last.Before(v.Updated) {
			last = v.Updated
		}
		if now.Sub(last) < c.NotDownloadedFor {
			return false
		}
	}
	return c.OlderThan > 0 || c.NotDownloadedFor > 0
}

// freedBy deletes the versions (unless dry) and counts the bytes of the content that
// no version references afterwards.
func (r *Repository) freedBy(ctx context.Context, vs []*restkit.Artefact, dry bool) (int64, error) {
	sizes := map[string]int64{}
	going := map[string]int{}
	for _, v := range vs {
		sizes[v.SHA256] = v.Size
		going[v.SHA256]++
	}
	var freed int64
	if dry {
		for d, n := range going {
			all, err := r.meta.FindByDigest(ctx, d)
			if err != nil {
				return freed, err
			}
			if len(all) == n {
				freed += sizes[d]
			}
		}
		return freed, nil
	}
	for _, v := range vs {
		gone, err := r.deleteAndFree(ctx, v.Directory, v.ID, v.Version)
		if restkit.IsKind(err, restkit.NotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return freed, err
		}
		for _, d := range gone {
			freed += sizes[d]
		}
		r.log.Info("cleanup deleted a version", "path", v.Path(), "version", v.Version, "size", v.Size)
	}
	return freed, nil
}

// RunCleanups runs the cleanup policies every Policy.CleanupEvery (hourly by
// default) until ctx ends, logging each run that did anything or failed.
func (r *Repository) RunCleanups(ctx context.Context, tick <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
		rep := r.Cleanup(ctx, false)
		switch {
		case rep.Err != nil && ctx.Err() == nil:
			r.log.Error("artefact cleanup failed", "error", rep.Err.Error(), "deleted", len(rep.Versions))
		case len(rep.Versions) > 0:
			r.log.Info("artefact cleanup", "deleted", len(rep.Versions), "bytes_freed", rep.BytesFreed)
		}
	}
}

// CleanupInterval is how often RunCleanups should run.
func (r *Repository) CleanupInterval() time.Duration {
	if r.policy.CleanupEvery > 0 {
		return r.policy.CleanupEvery
	}
	return time.Hour
}
