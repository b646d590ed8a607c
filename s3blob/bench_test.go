package s3blob

import (
	"io"
	"testing"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/fsblob"
)

// The benchmarks run each case against fsblob in a temporary directory and
// against the server of RESTKIT_TEST_S3, on the same machine, so that the two
// figures compare:
//
//	go test -run '^$' -bench . -benchtime 20x ./s3blob/

// benchStore opens a store of the named kind, fsblob or s3blob.
func benchStore(b *testing.B, name string) restkit.BlobStore {
	if name == "s3blob" {
		return mustOpen(b, testConfig(b))
	}
	fs, err := fsblob.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	return fs
}

var benchSizes = []struct {
	name string
	size int
}{{"4KiB", 4 << 10}, {"1MiB", 1 << 20}, {"64MiB", 64 << 20}}

// BenchmarkStageCommit uploads distinct content each time: Stage, then Commit.
func BenchmarkStageCommit(b *testing.B) {
	for _, name := range []string{"fsblob", "s3blob"} {
		for _, sz := range benchSizes {
			b.Run(name+"/"+sz.name, func(b *testing.B) {
				s := benchStore(b, name)
				content := pattern(sz.size, 5)
				b.SetBytes(int64(sz.size))
				for i := 0; b.Loop(); i++ {
					content[0], content[1], content[2] = byte(i), byte(i>>8), byte(i>>16)
					mustPut(b, s, content)
				}
			})
		}
	}
}

// BenchmarkRead reads a whole blob.
func BenchmarkRead(b *testing.B) {
	for _, name := range []string{"fsblob", "s3blob"} {
		for _, sz := range benchSizes {
			b.Run(name+"/"+sz.name, func(b *testing.B) {
				s := benchStore(b, name)
				d := mustPut(b, s, pattern(sz.size, 6))
				buf := make([]byte, 256<<10)
				b.SetBytes(int64(sz.size))
				for b.Loop() {
					r, err := s.Open(ctx, d)
					if err != nil {
						b.Fatal(err)
					}
					if n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, buf); err != nil || n != int64(sz.size) {
						b.Fatalf("read %d bytes, %v", n, err)
					}
					r.Close()
				}
			})
		}
	}
}

// BenchmarkRange reads 64 KiB at a random-ish place of a 64 MiB blob: what a
// Range request costs.
func BenchmarkRange(b *testing.B) {
	for _, name := range []string{"fsblob", "s3blob"} {
		b.Run(name, func(b *testing.B) {
			s := benchStore(b, name)
			const size = 64 << 20
			d := mustPut(b, s, pattern(size, 7))
			p := make([]byte, 64<<10)
			for i := 0; b.Loop(); i++ {
				r, err := s.Open(ctx, d)
				if err != nil {
					b.Fatal(err)
				}
				off := int64(i*7919) % (size - int64(len(p)))
				if _, err := r.Seek(off, io.SeekStart); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(r, p); err != nil {
					b.Fatal(err)
				}
				r.Close()
			}
		})
	}
}
