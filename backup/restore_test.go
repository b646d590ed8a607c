package backup

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/restkit/restkit/artefact"
	"github.com/restkit/restkit/internal/datadir"
)

// span is where a member of an archive lies: its header and its data.
type span struct {
	name       string
	head, data int64 // offsets
	size       int64
}

// spans walks a ustar archive block by block.
func spans(t *testing.T, archive []byte) []span {
	t.Helper()
	var out []span
	for pos := int64(0); pos+512 <= int64(len(archive)); {
		block := archive[pos : pos+512]
		if bytes.Equal(block, make([]byte, 512)) {
			return out
		}
		name := strings.TrimRight(string(block[:100]), "\x00")
		if prefix := strings.TrimRight(string(block[345:500]), "\x00"); prefix != "" {
			name = prefix + "/" + name
		}
		size, err := strconv.ParseInt(strings.Trim(string(block[124:136]), " \x00"), 8, 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, span{name, pos, pos + 512, size})
		pos += 512 + (size+511)/512*512
	}
	return out
}

// rebuild writes an archive of members (name, content) in order.
func rebuild(t *testing.T, archive []byte, edit func(names []string, contents [][]byte) ([]string, [][]byte)) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(archive))
	var names []string
	var contents [][]byte
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		names, contents = append(names, h.Name), append(contents, b)
	}
	names, contents = edit(names, contents)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i, n := range names {
		tw.WriteHeader(&tar.Header{Name: n, Size: int64(len(contents[i])), Mode: 0o600, Typeflag: tar.TypeReg})
		tw.Write(contents[i])
	}
	tw.Close()
	return buf.Bytes()
}

// TestRestoreRefuses: a truncated, tampered, reordered or foreign archive, and a
// target that is not empty, are refused with what is wrong, and the target is left
// as it was: a directory Restore would have made does not exist, an empty one stays
// empty.
func TestRestoreRefuses(t *testing.T) {
	d := newDataDir(t)
	d.put(t, "r", "a", "alpha")
	d.put(t, "r", "b", "beta")
	good := d.backup(t, WriteOptions{})
	sp := spans(t, good)
	if len(sp) != 5 {
		t.Fatalf("members %+v", sp)
	}
	alpha := blobMember(artefact.SHA256Hex([]byte("alpha")))
	flip := func(off int64) []byte {
		b := bytes.Clone(good)
		b[off] ^= 1
		return b
	}
	blob := sp[3] // the first blob
	for _, tc := range []struct {
		name    string
		archive []byte
		want    string
	}{
		{"empty", nil, "it is empty"},
		{"not a tar", []byte("PK\x03\x04 a zip file, say"), "it is not a tar archive"},
		{"another tar", rebuild(t, good, func(n []string, c [][]byte) ([]string, [][]byte) { return n[1:], c[1:] }),
			`it is not a restkit backup: its first member is "restkit.db", not MANIFEST.sha256`},
		{"cut in the manifest", good[:sp[0].data+10], "it is truncated: it ends inside MANIFEST.sha256"},
		{"cut in the database", good[:sp[1].data+100], "it is truncated: it ends inside restkit.db"},
		{"cut between members", good[:sp[3].head], "it is truncated: it ends after 2 members, before " + blob.name + ", which its manifest lists"},
		{"cut in a header", good[:sp[4].head+100], "it is truncated or damaged after 3 members"},
		{"cut in a blob", good[:blob.data+2], "it is truncated: it ends inside " + blob.name},
		{"blob altered", flip(blob.data), "it was altered: " + blob.name + " has sha256 "},
		{"database altered", flip(sp[1].data + 200), "it was altered: restkit.db has sha256 "},
		{"manifest altered", func() []byte { // another hex digit in the database's sum
			b := bytes.Clone(good)
			b[sp[0].data+3] = "01"[b2i(b[sp[0].data+3] == '0')]
			return b
		}(), "it was altered: restkit.db has sha256 "},
		{"manifest malformed", flip(sp[0].data + 64), `line 1 of its manifest is not "<sha256>  <name>"`},
		{"member added", rebuild(t, good, func(n []string, c [][]byte) ([]string, [][]byte) {
			return append(n, "notes.txt"), append(c, []byte("hi"))
		}), `it holds "notes.txt", which its manifest does not list`},
		{"members reordered", rebuild(t, good, func(n []string, c [][]byte) ([]string, [][]byte) {
			n[3], n[4], c[3], c[4] = n[4], n[3], c[4], c[3]
			return n, c
		}), `it holds "` + sp[4].name + `" where its manifest lists ` + sp[3].name},
		{"blob renamed in both", rebuild(t, good, func(n []string, c [][]byte) ([]string, [][]byte) {
			c[0] = bytes.ReplaceAll(c[0], []byte(alpha), []byte(strings.Replace(alpha, "/", "/../", 1)))
			return n, c
		}), "is not a member a restkit backup holds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, existing := range []bool{false, true} {
				dst := filepath.Join(t.TempDir(), "restored")
				if existing {
					os.Mkdir(dst, 0o700)
				}
				_, err := Restore(ctx, bytes.NewReader(tc.archive), dst)
				if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "the backup was not restored: ") ||
					!strings.HasSuffix(err.Error(), "; nothing was written to "+dst) {
					t.Fatalf("Restore = %v, want a refusal holding %q", err, tc.want)
				}
				entries, statErr := os.ReadDir(dst)
				switch {
				case !existing && !errors.Is(statErr, os.ErrNotExist):
					t.Errorf("the directory Restore made is still there: %v", entries)
				case existing && (statErr != nil || len(entries) != 0):
					t.Errorf("the empty directory now holds %v (%v)", entries, statErr)
				}
			}
		})
	}
}

func TestRestoreTarget(t *testing.T) {
	d := newDataDir(t)
	good := d.backup(t, WriteOptions{})
	// A directory that holds anything is refused before the backup is read.
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "restkit.db"), []byte("live"), 0o600)
	_, err := Restore(ctx, bytes.NewReader(good), full)
	if err == nil || err.Error() != full+" is not empty (it holds restkit.db): restore writes only into a new or empty directory, so that it never mixes two data directories" {
		t.Errorf("Restore into a full directory = %v", err)
	}
	// A directory another process holds is refused with its pid.
	busy := t.TempDir()
	lock, err := datadir.Open(busy)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Restore(ctx, bytes.NewReader(good), busy)
	var inUse *datadir.InUseError
	if !errors.As(err, &inUse) || inUse.PID != os.Getpid() {
		t.Errorf("Restore into a locked directory = %v", err)
	}
	lock.Close()
	// A directory holding only a lock file left by a server is empty.
	if _, err := Restore(ctx, bytes.NewReader(good), busy); err != nil {
		t.Errorf("Restore into a directory with only its lock file: %v", err)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
