package backup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/artefact"
)

// TestVerify: a blob replaced on disk is corrupt, a removed one missing, the rest
// sound; a blob missing because its last version was deleted meanwhile is no problem.
func TestVerify(t *testing.T) {
	d := newDataDir(t)
	for _, c := range []string{"alpha", "beta", "gamma"} {
		d.put(t, "r", c, c)
	}
	path := func(content string) string {
		return filepath.Join(d.path, filepath.FromSlash(blobMember(artefact.SHA256Hex([]byte(content)))))
	}
	if err := os.WriteFile(path("alpha"), []byte("alphA"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path("beta")); err != nil {
		t.Fatal(err)
	}
	var problems []string
	rep, err := Verify(ctx, d.store, d.blobs, VerifyOptions{OnProblem: func(p Problem) { problems = append(problems, p.String()) }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.Blobs != 3 || rep.Missing != 1 || rep.Corrupt != 1 || rep.Bytes != 14 {
		t.Errorf("report %+v", rep)
	}
	want := map[string]bool{
		"corrupt  " + artefact.SHA256Hex([]byte("alpha")) + "  (5 bytes: its content has sha256 " + artefact.SHA256Hex([]byte("alphA")) + ", 5 bytes)": true,
		"missing  " + artefact.SHA256Hex([]byte("beta")) + "  (4 bytes)":                                                                               true,
	}
	if len(problems) != 2 || !want[problems[0]] || !want[problems[1]] {
		t.Errorf("problems:\n%s", strings.Join(problems, "\n"))
	}
	// Deleted meanwhile: the blob is gone and no version references it any more.
	gone := restkit.BlobRef{SHA256: artefact.SHA256Hex([]byte("delta")), Size: 5}
	if p, err := check(ctx, d.store, d.blobs, gone, make([]byte, 64), nil); p != nil || err != nil {
		t.Errorf("a blob deleted meanwhile: %v, %v", p, err)
	}
}
