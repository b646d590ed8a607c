package sqlite

import (
	"path/filepath"
	"testing"

	"restkit"
	"restkit/storetest"
)

func TestArtefacts(t *testing.T) {
	storetest.RunArtefacts(t, func(t *testing.T) restkit.ArtefactStore {
		return mustOpen(t, filepath.Join(t.TempDir(), "restkit.db"))
	})
}
