package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/restkit/restkit"
)

// Cursors.
//
// A cursor names a page boundary by the sort values of the row at its edge, plus the
// direction to read and the sort it belongs to. It is opaque and tamper-evident: the
// payload is followed by the first 16 bytes of its HMAC-SHA256 under the server's key,
// and the whole is base64url. A cursor that was edited, or minted by another key, fails
// the MAC and is a 400, never a wrong page; one used with another sort is a 400 that
// says so.
//
// The payload is a small binary record rather than JSON, because cursors are decoded
// on every deep page: a version byte, the direction byte, then length-prefixed
// (uvarint) strings — the resource's storage name, the sort spec, and each sort value
// in its text form (restkit.Format), or a 0 byte for a null. Decoding never trusts
// a length: every read is bounded by the bytes left.

const cursorVersion = 1

const (
	dirAfter  = 'a'
	dirBefore = 'b'
	dirLast   = 'l'
)

const macSize = 16

var errBadCursor = restkit.Errorf(restkit.Invalid, "is not a cursor this server issued; start again from the first page")

// cursorCodec signs and checks cursors with one key. HMAC states are pooled: a deep
// page costs one Reset instead of two hmac.New.
type cursorCodec struct {
	pool sync.Pool
}

func newCursorCodec(key []byte) *cursorCodec {
	k := append([]byte(nil), key...)
	c := &cursorCodec{}
	c.pool.New = func() any { return hmac.New(sha256.New, k) }
	return c
}

func (c *cursorCodec) mac(dst, payload []byte) []byte {
	m := c.pool.Get().(hash.Hash)
	m.Reset()
	m.Write(payload)
	var sum [sha256.Size]byte
	dst = append(dst, m.Sum(sum[:0])[:macSize]...)
	c.pool.Put(m)
	return dst
}

// encode makes the cursor for the boundary at rec (nil for dirLast).
func (c *cursorCodec) encode(res *restkit.Resource, sortSpec string, dir byte, rec *restkit.Record, sort []restkit.SortKey) string {
	b := make([]byte, 0, 64)
	b = append(b, cursorVersion, dir)
	b = appendField(b, res.StoreName)
	b = appendField(b, sortSpec)
	if rec != nil {
		b = binary.AppendUvarint(b, uint64(len(sort)))
		for _, k := range sort {
			if v, ok := rec.Values[k.Field]; ok && v != nil {
				b = append(b, 1)
				b = appendField(b, restkit.Format(v))
			} else {
				b = append(b, 0)
			}
		}
	} else {
		b = binary.AppendUvarint(b, 0)
	}
	b = c.mac(b, b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func appendField(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// cursorReader reads a payload; any read past the end sets bad.
type cursorReader struct {
	b   []byte
	bad bool
}

func (r *cursorReader) byte() byte {
	if len(r.b) == 0 {
		r.bad = true
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *cursorReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *cursorReader) string() string {
	n := r.uvarint()
	if r.bad || n > uint64(len(r.b)) {
		r.bad = true
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// open checks a cursor's size, encoding and MAC and returns a reader over its
// payload: the part every kind of cursor shares.
func (c *cursorCodec) open(s string) (*cursorReader, error) {
	if len(s) > 4096 {
		return nil, errBadCursor
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) < macSize+2 {
		return nil, errBadCursor
	}
	payload, sum := raw[:len(raw)-macSize], raw[len(raw)-macSize:]
	var want [macSize]byte
	if !hmac.Equal(sum, c.mac(want[:0], payload)) {
		return nil, errBadCursor
	}
	return &cursorReader{b: payload}, nil
}

// decode checks a cursor for res under sortSpec and sets q's After, Before or Last.
func (c *cursorCodec) decode(res *restkit.Resource, s, sortSpec string, q *restkit.Query) error {
	r, err := c.open(s)
	if err != nil {
		return err
	}
	version, dir := r.byte(), r.byte()
	store, sort := r.string(), r.string()
	n := r.uvarint()
	if r.bad || version != cursorVersion || store != res.StoreName {
		return errBadCursor
	}
	if sort != sortSpec {
		return restkit.Errorf(restkit.Invalid, "belongs to sort=%q; a cursor must be used with the sort it came from", sort)
	}
	if dir == dirLast {
		q.Last = true
		return nil
	}
	if n != uint64(len(q.Sort)) {
		return errBadCursor
	}
	vals := make([]any, n)
	for i, k := range q.Sort {
		if r.byte() == 0 {
			continue
		}
		text := r.string()
		if r.bad {
			return errBadCursor
		}
		v, err := res.Field(k.Field).Parse(text)
		if err != nil {
			return errBadCursor
		}
		vals[i] = v
	}
	if r.bad || len(r.b) != 0 {
		return errBadCursor
	}
	switch dir {
	case dirAfter:
		q.After = vals
	case dirBefore:
		q.Before = vals
	default:
		return errBadCursor
	}
	return nil
}

// Artefact listing cursors carry the directory, the sort, and the sort value and id
// of the last artefact seen, in the same signed binary form.
const dirArtefact = 'x'

func (c *cursorCodec) encodeArtefact(dir, sortSpec string, a *restkit.Artefact) string {
	b := make([]byte, 0, 96)
	b = append(b, cursorVersion, dirArtefact)
	b = appendField(b, dir)
	b = appendField(b, sortSpec)
	b = appendField(b, a.ID)
	b = appendField(b, strconv.FormatInt(a.Size, 10))
	b = appendField(b, a.Updated.UTC().Format(time.RFC3339Nano))
	b = c.mac(b, b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (c *cursorCodec) decodeArtefact(dir, sortSpec, s string) (*restkit.ArtefactCursor, error) {
	r, err := c.open(s)
	if err != nil {
		return nil, err
	}
	version, kind := r.byte(), r.byte()
	d, sort, id, size, updated := r.string(), r.string(), r.string(), r.string(), r.string()
	if r.bad || len(r.b) != 0 || version != cursorVersion || kind != dirArtefact || d != dir {
		return nil, errBadCursor
	}
	if sort != sortSpec {
		return nil, restkit.Errorf(restkit.Invalid, "belongs to sort=%q; a cursor must be used with the sort it came from", sort)
	}
	cur := &restkit.ArtefactCursor{ID: id}
	switch strings.TrimPrefix(sortSpec, "-") {
	case "size":
		n, err := strconv.ParseInt(size, 10, 64)
		if err != nil {
			return nil, errBadCursor
		}
		cur.Value = n
	case "updated":
		t, err := time.Parse(time.RFC3339Nano, updated)
		if err != nil {
			return nil, errBadCursor
		}
		cur.Value = t
	}
	return cur, nil
}

// Revision listing cursors carry the resource, the record's key and the revision
// below which the next page starts, in the same signed binary form.
const dirRevision = 'r'

func (c *cursorCodec) encodeRevision(res *restkit.Resource, key any, before int64) string {
	b := make([]byte, 0, 64)
	b = append(b, cursorVersion, dirRevision)
	b = appendField(b, res.StoreName)
	b = appendField(b, restkit.Format(key))
	b = binary.AppendUvarint(b, uint64(before))
	b = c.mac(b, b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeRevision checks a revision cursor for the record of res with the key and
// returns the revision the page starts below.
func (c *cursorCodec) decodeRevision(res *restkit.Resource, key any, s string) (int64, error) {
	r, err := c.open(s)
	if err != nil {
		return 0, err
	}
	version, kind := r.byte(), r.byte()
	store, k := r.string(), r.string()
	before := r.uvarint()
	if r.bad || len(r.b) != 0 || version != cursorVersion || kind != dirRevision || store != res.StoreName ||
		k != restkit.Format(key) || before < 1 || before > math.MaxInt64 {
		return 0, errBadCursor
	}
	return int64(before), nil
}

// Directory listing cursors that end among the subdirectories carry the directory,
// the sort and the last subdirectory's name; search cursors carry the search and the
// last version found. Both in the same signed binary form.
const (
	dirSubdirectory = 'y'
	dirSearch       = 'p'
)

func (c *cursorCodec) encodeSubdirectory(dir, sortSpec, name string) string {
	b := make([]byte, 0, 96)
	b = append(b, cursorVersion, dirSubdirectory)
	b = appendField(b, dir)
	b = appendField(b, sortSpec)
	b = appendField(b, name)
	b = c.mac(b, b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeListing reads a directory listing's cursor of either kind: the subdirectory
// to go on after, or the artefact cursor (inFiles).
func (c *cursorCodec) decodeListing(dir, sortSpec, s string) (afterDir string, files *restkit.ArtefactCursor, err error) {
	r, err := c.open(s)
	if err != nil {
		return "", nil, err
	}
	if len(r.b) > 1 && r.b[1] == dirSubdirectory {
		version, kind := r.byte(), r.byte()
		d, sort, name := r.string(), r.string(), r.string()
		if r.bad || len(r.b) != 0 || version != cursorVersion || kind != dirSubdirectory || d != dir {
			return "", nil, errBadCursor
		}
		if sort != sortSpec {
			return "", nil, restkit.Errorf(restkit.Invalid, "belongs to sort=%q; a cursor must be used with the sort it came from", sort)
		}
		return name, nil, nil
	}
	files, err = c.decodeArtefact(dir, sortSpec, s)
	return "", files, err
}

func (c *cursorCodec) encodeSearch(search string, k restkit.VersionKey) string {
	b := make([]byte, 0, 96)
	b = append(b, cursorVersion, dirSearch)
	b = appendField(b, search)
	b = appendField(b, k.Directory)
	b = appendField(b, k.ID)
	b = binary.AppendUvarint(b, uint64(k.Version))
	b = c.mac(b, b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (c *cursorCodec) decodeSearch(search, s string) (*restkit.VersionKey, error) {
	r, err := c.open(s)
	if err != nil {
		return nil, err
	}
	version, kind := r.byte(), r.byte()
	q, dir, id, v := r.string(), r.string(), r.string(), r.uvarint()
	if r.bad || len(r.b) != 0 || version != cursorVersion || kind != dirSearch || q != search {
		return nil, errBadCursor
	}
	return &restkit.VersionKey{Directory: dir, ID: id, Version: int64(v)}, nil
}
