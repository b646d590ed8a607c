package artefact

import (
	"mime"
	"path/filepath"
	"strings"

	"github.com/gabriel-vasile/mimetype"
)

// sniffLen is how much of the head of an upload content detection reads
// (mimetype's own default).
const sniffLen = 3072

// sniffer keeps the first bytes of a stream for content-type detection.
type sniffer struct{ head []byte }

func (s *sniffer) Write(p []byte) (int, error) {
	if n := sniffLen - len(s.head); n > 0 {
		s.head = append(s.head, p[:min(n, len(p))]...)
	}
	return len(p), nil
}

// contentType picks an artefact's type: the client's when it is specific; otherwise
// the name's extension when it is known, and the detected type of the bytes when the
// extension says nothing (or only "text/plain" where the bytes know better).
func contentType(client, id, filename string, head []byte) string {
	if specific(client) {
		return client
	}
	name := filename
	if name == "" {
		name = id
	}
	byName := mime.TypeByExtension(strings.ToLower(filepath.Ext(name)))
	if byName == "application/octet-stream" { // ".bin" and friends say nothing
		byName = ""
	}
	detected := mimetype.Detect(head).String()
	switch {
	case byName != "" && !strings.HasPrefix(byName, "text/plain"):
		return byName
	case detected != "application/octet-stream":
		return detected
	case byName != "":
		return byName
	}
	return "application/octet-stream"
}

// specific reports whether a client's Content-Type says more than "some bytes".
func specific(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch mt {
	case "application/octet-stream", "application/x-www-form-urlencoded", "binary/octet-stream":
		return false
	}
	return !strings.HasPrefix(mt, "multipart/")
}

// typeByName is the type a name's extension says, or "" when it says nothing.
func typeByName(name string) string {
	t := mime.TypeByExtension(strings.ToLower(filepath.Ext(name)))
	if t == "application/octet-stream" {
		return ""
	}
	return t
}
