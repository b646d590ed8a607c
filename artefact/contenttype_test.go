package artefact

import "testing"

func TestContentType(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	for _, tt := range []struct {
		client, id, filename string
		head                 []byte
		want                 string
	}{
		{"image/webp", "x.png", "", png, "image/webp"},                          // the client's specific type wins
		{"application/octet-stream", "x.bin", "", png, "image/png"},             // generic type: detect
		{"", "x.bin", "", png, "image/png"},                                     // .bin says nothing
		{"", "notes.md", "", []byte("# title"), "text/markdown; charset=utf-8"}, // the name knows better than text/plain
		{"", "data", "report.csv", []byte("a,b\n1,2\n"), "text/csv; charset=utf-8"},
		{"", "blob", "", []byte{0, 1, 2, 3}, "application/octet-stream"},
		{"multipart/form-data; boundary=x", "x.pdf", "", []byte("%PDF-1.4"), "application/pdf"},
		{"not a type", "x", "", []byte("plain words"), "text/plain; charset=utf-8"},
	} {
		if got := contentType(tt.client, tt.id, tt.filename, tt.head); got != tt.want {
			t.Errorf("contentType(%q, %q, %q) = %q, want %q", tt.client, tt.id, tt.filename, got, tt.want)
		}
	}
}
