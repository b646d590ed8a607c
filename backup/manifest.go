package backup

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Member names.
const (
	ManifestName = "MANIFEST.sha256"
	DatabaseName = "restkit.db"
)

// keyFiles are the data directory's small files a backup carries when present.
var keyFiles = []string{"cursor.key", "store.id"}

// blobMember is the name of a blob's member: its path under the data directory.
func blobMember(digest string) string {
	return "blobs/" + digest[:2] + "/" + digest[2:4] + "/" + digest
}

// blobLineLen is the length of a blob's manifest line.
var blobLineLen = int64(len(manifestLine(strings.Repeat("0", 64), blobMember(strings.Repeat("0", 64)))))

func manifestLine(sum, name string) string { return sum + "  " + name + "\n" }

// entry is one line of a manifest.
type entry struct{ sum, name string }

var lineRE = regexp.MustCompile(`^([0-9a-f]{64})  (\S+)$`)
var blobRE = regexp.MustCompile(`^blobs/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})$`)

// manifestReader reads a manifest line by line and checks each: its form, a name a
// backup may hold, a blob named by its own digest, blobs in strictly ascending order
// after the database and keys (so no blob is listed twice, and reading a manifest
// takes the same memory however many blobs it lists), and the database first.
type manifestReader struct {
	sc       *bufio.Scanner
	line     int
	lastBlob string
	seen     map[string]bool
}

func newManifestReader(r io.Reader) *manifestReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), 4096)
	return &manifestReader{sc: sc, seen: map[string]bool{}}
}

// next returns the next entry; ok false at the end. err is a malformed manifest.
func (m *manifestReader) next() (e entry, ok bool, err error) {
	if !m.sc.Scan() {
		if err := m.sc.Err(); err != nil {
			return entry{}, false, fmt.Errorf("its manifest cannot be read: %w", err)
		}
		if m.line == 0 {
			return entry{}, false, fmt.Errorf("its manifest is empty")
		}
		return entry{}, false, nil
	}
	m.line++
	g := lineRE.FindStringSubmatch(m.sc.Text())
	if g == nil {
		return entry{}, false, fmt.Errorf("line %d of its manifest is not \"<sha256>  <name>\"", m.line)
	}
	e = entry{sum: g[1], name: g[2]}
	if err := m.check(e); err != nil {
		return entry{}, false, fmt.Errorf("line %d of its manifest: %w", m.line, err)
	}
	return e, true, nil
}

func (m *manifestReader) check(e entry) error {
	switch {
	case m.line == 1 && e.name != DatabaseName:
		return fmt.Errorf("the first member must be %s, not %s", DatabaseName, e.name)
	case m.seen[e.name]:
		return fmt.Errorf("%s is listed twice", e.name)
	case e.name == DatabaseName || e.name == keyFiles[0] || e.name == keyFiles[1]:
		if m.lastBlob != "" {
			return fmt.Errorf("%s is listed after the blobs", e.name)
		}
		m.seen[e.name] = true // blobs need no record: they come in strictly ascending order
	default:
		g := blobRE.FindStringSubmatch(e.name)
		switch {
		case g == nil:
			return fmt.Errorf("%q is not a member a restkit backup holds", e.name)
		case g[3][:2] != g[1] || g[3][2:4] != g[2] || g[3] != e.sum:
			return fmt.Errorf("blob %s is not named by its own sha256 %s", e.name, e.sum)
		case g[3] <= m.lastBlob:
			return fmt.Errorf("blob %s is out of order", e.name)
		}
		m.lastBlob = g[3]
	}
	return nil
}
