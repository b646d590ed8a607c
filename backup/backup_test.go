package backup

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/artefact"
	"github.com/restkit/restkit/fsblob"
	"github.com/restkit/restkit/sqlite"
	"github.com/restkit/restkit/storetest"
)

var ctx = context.Background()

// dataDir is a data directory as a server keeps it: a SQLite store with cars, and
// an artefact repository on files.
type dataDir struct {
	path  string
	store *sqlite.Store
	blobs *fsblob.Store
	repo  *artefact.Repository
	cars  *restkit.Resource
}

func newDataDir(t *testing.T) *dataDir {
	t.Helper()
	d := &dataDir{path: filepath.Join(t.TempDir(), "data")}
	if err := os.MkdirAll(d.path, 0o700); err != nil {
		t.Fatal(err)
	}
	var err error
	if d.store, err = sqlite.Open(filepath.Join(d.path, DatabaseName)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.store.Close() })
	sc := storetest.Cars(t, nil)
	storetest.MustMigrate(t, d.store, sc)
	d.cars = sc.APIs[0].Resources[0]
	if d.blobs, err = fsblob.Open(d.path); err != nil {
		t.Fatal(err)
	}
	d.repo = artefact.New(artefact.Options{Blobs: d.blobs, Meta: d.store})
	if err := os.WriteFile(filepath.Join(d.path, "cursor.key"), bytes.Repeat([]byte{7}, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *dataDir) put(t *testing.T, dir, id, content string) {
	t.Helper()
	if _, err := d.repo.Put(ctx, artefact.Upload{Directory: dir, ID: id, Body: strings.NewReader(content), Length: int64(len(content))}); err != nil {
		t.Fatal(err)
	}
}

func (d *dataDir) backup(t *testing.T, o WriteOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	o.Data, o.TempDir = d.path, t.TempDir()
	if _, err := Write(ctx, &buf, o); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

// members lists an archive's member names, in order.
func members(t *testing.T, archive []byte) []string {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(archive))
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
}

// TestRoundTrip: a backup holds the manifest, the database, the key and every
// referenced blob; restored into a new directory it serves the same records and
// artefacts, and verifies.
func TestRoundTrip(t *testing.T) {
	d := newDataDir(t)
	storetest.Put(t, d.store, d.cars, map[string]any{"id": int64(1), "model": "T"})
	d.put(t, "releases", "a.txt", "alpha")
	d.put(t, "releases", "b.txt", "beta")
	d.put(t, "copies", "a.txt", "alpha") // the same content: one blob
	archive := d.backup(t, WriteOptions{})
	names := members(t, archive)
	want := []string{ManifestName, DatabaseName, "cursor.key", blobMember(artefact.SHA256Hex([]byte("alpha"))), blobMember(artefact.SHA256Hex([]byte("beta")))}
	sort.Strings(want[3:])
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("members:\n%s\nwant\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}

	dst := filepath.Join(t.TempDir(), "restored")
	sum, err := Restore(ctx, bytes.NewReader(archive), dst)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Blobs != 2 || sum.BlobBytes != 9 || sum.DatabaseBytes == 0 {
		t.Errorf("summary %+v", sum)
	}
	st, err := sqlite.Open(filepath.Join(dst, DatabaseName))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	storetest.MustMigrate(t, st, storetest.Cars(t, nil))
	if rec, err := st.FindRecord(ctx, d.cars, int64(1)); err != nil || rec.Values["model"] != "T" {
		t.Errorf("the restored car: %v, %v", rec, err)
	}
	blobs, err := fsblob.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	repo := artefact.New(artefact.Options{Blobs: blobs, Meta: st})
	for _, c := range [][3]string{{"releases", "a.txt", "alpha"}, {"releases", "b.txt", "beta"}, {"copies", "a.txt", "alpha"}} {
		_, r, err := repo.Open(ctx, c[0], c[1], 0)
		if err != nil {
			t.Fatalf("%s/%s: %v", c[0], c[1], err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		if string(b) != c[2] {
			t.Errorf("%s/%s = %q, want %q", c[0], c[1], b, c[2])
		}
	}
	if key, err := os.ReadFile(filepath.Join(dst, "cursor.key")); err != nil || !bytes.Equal(key, bytes.Repeat([]byte{7}, 32)) {
		t.Errorf("cursor.key: %v", err)
	}
	for _, p := range []string{dst, filepath.Join(dst, DatabaseName), filepath.Join(dst, "blobs")} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: mode %v, %v; want private", p, fi.Mode(), err)
		}
	}
	rep, err := Verify(ctx, st, blobs, VerifyOptions{})
	if err != nil || !rep.OK() || rep.Blobs != 2 || rep.Bytes != 9 {
		t.Errorf("Verify of the restored directory: %+v, %v", rep, err)
	}
}

// TestBackupKeepsBlobsDeletedMeanwhile: an artefact deleted between the snapshot and
// the copy of the blobs — the live server frees its blob at once — is in the backup
// with its content, because the backup pins the blobs; the deletion is left for the
// next collection.
func TestBackupKeepsBlobsDeletedMeanwhile(t *testing.T) {
	d := newDataDir(t)
	d.put(t, "releases", "gone.txt", "soon gone")
	archive := d.backup(t, WriteOptions{afterSnapshot: func() {
		if err := d.repo.Delete(ctx, "releases", "gone.txt", 0); err != nil {
			t.Fatal(err)
		}
		if ok, err := d.store.Referenced(ctx, artefact.SHA256Hex([]byte("soon gone"))); err != nil || ok {
			t.Fatalf("the live database still references the blob: %v %v", ok, err)
		}
	}})
	dst := filepath.Join(t.TempDir(), "restored")
	if _, err := Restore(ctx, bytes.NewReader(archive), dst); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dst, filepath.FromSlash(blobMember(artefact.SHA256Hex([]byte("soon gone"))))))
	if err != nil || string(b) != "soon gone" {
		t.Fatalf("the deleted artefact's blob in the backup: %q, %v", b, err)
	}
	// After the backup, the next collection frees it.
	if n, err := d.repo.Collect(ctx); err != nil || n != 1 {
		t.Errorf("Collect after the backup = %d, %v; want 1", n, err)
	}
}
