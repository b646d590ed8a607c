package artefact

import (
	"context"

	"github.com/restkit/restkit"
)

// Deploy is a deploy by checksum (X-Checksum-Deploy): a new version made of content
// the repository already holds, named by its SHA-256, with no bytes sent.
type Deploy struct {
	Directory, ID string // already checked
	SHA256        string // lowercase hex
	ContentType   string // the client's type when specific, else "" to take the content's
	Check         restkit.ArtefactCheck
	// MayUse reports whether the caller may use content that this version holds
	// (it may read it): content known only from versions the caller cannot read is
	// unknown to it, so that a deploy cannot tell whether some content exists.
	MayUse func(*restkit.Artefact) bool
}

// Deploy stores a version whose content is an existing blob. NotFound when no version
// the caller may use (d.MayUse) holds that content; TooLarge when the content is over
// the directory's max_size; the check's error. Under the digest's lock the content
// cannot be freed between finding it and recording the new reference.
func (r *Repository) Deploy(ctx context.Context, d Deploy) (*restkit.Artefact, error) {
	if err := checkPath(d.Directory, d.ID); err != nil {
		return nil, err
	}
	unknown := restkit.Errorf(restkit.NotFound, "no content with sha256 %s is known here: upload the bytes", d.SHA256)
	unlock, err := r.lock(ctx, d.SHA256)
	if err != nil {
		return nil, err
	}
	var source *restkit.Artefact
	holders, err := r.meta.FindByDigest(ctx, d.SHA256)
	if err != nil {
		unlock()
		return nil, err
	}
	for _, h := range holders {
		if d.MayUse == nil || d.MayUse(h) {
			source = h
			break
		}
	}
	if source == nil {
		unlock()
		return nil, unknown
	}
	if pol := r.policy.For(d.Directory); pol.MaxSize > 0 && source.Size > pol.MaxSize {
		unlock()
		return nil, restkit.Errorf(restkit.TooLarge, "the file is larger than the limit of %d bytes", pol.MaxSize)
	}
	ct := d.ContentType
	if !specific(ct) {
		ct = typeByName(d.ID)
		if ct == "" {
			ct = source.ContentType // the name says nothing: the content's own type
		}
	}
	a := &restkit.Artefact{Directory: d.Directory, ID: d.ID, Size: source.Size, SHA256: d.SHA256, ContentType: ct, Updated: r.now().UTC()}
	stored, freed, err := r.meta.AddVersion(context.WithoutCancel(ctx), a, d.Check, r.policy.For(d.Directory).KeepVersions)
	unlock()
	if err != nil {
		return nil, err
	}
	r.freeAll(ctx, freed, d.SHA256)
	return stored, nil
}

// freeAll frees the digests a write made unreferenced, except keep (the write's own).
func (r *Repository) freeAll(ctx context.Context, freed []string, keep string) {
	for _, d := range freed {
		if d != keep {
			r.free(ctx, d)
		}
	}
}
