package httpapi

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/restkit/restkit"
)

// FuzzFirstFilePart: the multipart path of uploads never panics, answers only with
// client errors, and a part it returns reads to its end.
func FuzzFirstFilePart(f *testing.F) {
	for _, s := range []string{
		"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello\r\n--x--\r\n",
		"--x\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nskip me\r\n--x\r\nContent-Disposition: form-data; name=\"f\"; filename=\"b\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--x--",
		"--x--\r\n",
		"",
		"--x\r\nContent-Disposition: form-data; filename=\"../../etc/passwd\"\r\n\r\nx\r\n--x--",
		"--x\r\n\r\n\r\n--x",
	} {
		f.Add("x", s)
	}
	f.Fuzz(func(t *testing.T, boundary, body string) {
		r := httptest.NewRequest("POST", "/artefacts/d/f", strings.NewReader(body))
		r.Header.Set("Content-Type", "multipart/form-data; boundary=\""+strings.ReplaceAll(boundary, `"`, ``)+"\"")
		part, err := firstFilePart(r)
		if err != nil {
			if k := restkit.ErrorKind(err); k != restkit.Invalid && k != restkit.TooLarge {
				t.Fatalf("kind %s: %v", k, err)
			}
			return
		}
		if part.FileName() == "" {
			t.Fatal("returned a part without a file name")
		}
		_, _ = io.Copy(io.Discard, part)
	})
}

func TestClaimedDigest(t *testing.T) {
	const hexSum = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" // sha256("abc")
	const b64 = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
	for _, tt := range []struct {
		xsum, digest, want string
		bad                bool
	}{
		{"", "", "", false},
		{hexSum, "", hexSum, false},
		{strings.ToUpper(hexSum), "", hexSum, false},
		{"", "sha-256=:" + b64 + ":", hexSum, false},
		{"", "sha-512=:AAAA:, sha-256=:" + b64 + ":", hexSum, false},
		{"", "sha-512=:AAAA:", "", false},
		{hexSum, "sha-256=:" + b64 + ":", hexSum, false},
		{hexSum[1:], "", "", true},
		{"", "sha-256=" + b64, "", true},
		{"", "sha-256=:AAAA:", "", true},
		{strings.Repeat("0", 64), "sha-256=:" + b64 + ":", "", true},
	} {
		r := httptest.NewRequest("PUT", "/", nil)
		if tt.xsum != "" {
			r.Header.Set("X-Checksum-Sha256", tt.xsum)
		}
		if tt.digest != "" {
			r.Header.Set("Content-Digest", tt.digest)
		}
		got, err := claimedDigest(r.Header, false)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("%q %q: %q %v", tt.xsum, tt.digest, got, err)
		}
	}
	// Every header line counts; a second, different checksum is a disagreement.
	r := httptest.NewRequest("PUT", "/", nil)
	r.Header.Add("X-Checksum-Sha256", hexSum)
	r.Header.Add("X-Checksum-Sha256", strings.Repeat("0", 64))
	if _, err := claimedDigest(r.Header, false); err == nil {
		t.Error("two different X-Checksum-Sha256 lines were accepted")
	}
	r = httptest.NewRequest("PUT", "/", nil)
	r.Header.Add("Content-Digest", "sha-512=:AAAA:")
	r.Header.Add("Content-Digest", "sha-256=:"+b64+":")
	if got, err := claimedDigest(r.Header, false); err != nil || got != hexSum {
		t.Errorf("a sha-256 member on a second line: %q %v", got, err)
	}
	// For multipart, Content-Digest covers the message, not the file: ignored.
	r = httptest.NewRequest("PUT", "/", nil)
	r.Header.Set("Content-Digest", "sha-256=:"+b64+":")
	if got, err := claimedDigest(r.Header, true); err != nil || got != "" {
		t.Errorf("multipart: %q %v", got, err)
	}
}
