package auth

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestParseAuthorization(t *testing.T) {
	ok := []struct {
		in   string
		want Credentials
	}{
		{"Basic " + b64("alice:alice-secret"), Credentials{Scheme: Basic, User: "alice", Password: "alice-secret"}},
		{"basic " + b64("alice:a:b:c"), Credentials{Scheme: Basic, User: "alice", Password: "a:b:c"}}, // the password may hold colons
		{"BASIC  " + b64("bob:"), Credentials{Scheme: Basic, User: "bob", Password: ""}},
		{"Basic " + b64("zoë:pässwörd"), Credentials{Scheme: Basic, User: "zoë", Password: "pässwörd"}},
		{"Bearer rk_abc-DEF_123", Credentials{Scheme: Bearer, Token: "rk_abc-DEF_123"}},
		{"bearer abc==", Credentials{Scheme: Bearer, Token: "abc=="}},
		{"Bearer a+/b.c~d", Credentials{Scheme: Bearer, Token: "a+/b.c~d"}},
	}
	for _, c := range ok {
		got, err := ParseAuthorization(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseAuthorization(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	bad := []string{
		"",
		"Basic",
		"Basic ",
		"Bearer",
		"Bearer  ",
		"Digest username=alice",
		"Basic !!!notbase64",
		"Basic " + b64("alice:secret") + "x", // not strict base64
		"Basic " + b64("alicesecret"),        // no colon
		"Basic " + b64(":secret"),            // no user
		"Basic " + b64("ali\x00ce:secret"),   // NUL
		"Basic " + b64("alice:sec\nret"),     // control character
		"Basic " + b64("alice:\xff\xfe"),     // not UTF-8
		"Basic " + b64("alice:x") + " extra", // trailing parameter
		"Bearer abc def",                     // two tokens
		"Bearer =abc",                        // padding first
		"Bearer ab=c",                        // padding inside
		"Bearer ab\tc",                       // tab
		"Bearer é",                           // not token68
		"Bearer " + strings.Repeat("a", MaxHeader), // too long
		"Basic\t" + b64("alice:x"),                 // a tab is not the separator
	}
	for _, in := range bad {
		if got, err := ParseAuthorization(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseAuthorization(%q) = %+v, %v; want ErrMalformed", in, got, err)
		}
	}
}

// FuzzParseAuthorization: the parser never panics, accepts only what it can give back
// whole, and what it accepts is clean (UTF-8, no control characters, a token68).
func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{"Basic " + b64("alice:alice-secret"), "Bearer rk_x", "Basic " + b64("a:b:c"), "bearer a==", "Basic =", "Digest x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := ParseAuthorization(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || c != (Credentials{}) {
				t.Fatalf("error %v with credentials %+v", err, c)
			}
			return
		}
		switch c.Scheme {
		case Basic:
			if c.User == "" || strings.Contains(c.User, ":") || !printable(c.User) || !printable(c.Password) || !utf8.ValidString(c.Password) {
				t.Fatalf("accepted unclean Basic credentials %+v from %q", c, in)
			}
			if c.Token != "" {
				t.Fatalf("Basic with a token: %+v", c)
			}
		case Bearer:
			if !isToken68(c.Token) || c.User != "" || c.Password != "" || !strings.HasSuffix(in, c.Token) {
				t.Fatalf("accepted bad Bearer %+v from %q", c, in)
			}
		default:
			t.Fatalf("accepted %q as scheme %q", in, c.Scheme)
		}
	})
}
