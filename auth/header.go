package auth

import (
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf8"
)

// Scheme is how a request authenticates.
type Scheme string

const (
	Basic  Scheme = "basic"
	Bearer Scheme = "bearer"
	// Session is a browser signed in through the web console: a signed cookie that
	// names a user (and the API key it signed in with), issued by the HTTP layer
	// after a Basic or Bearer check. See SessionPrincipal.
	Session Scheme = "session"
)

// Credentials are what an Authorization header carries.
type Credentials struct {
	Scheme   Scheme
	User     string // Basic
	Password string // Basic
	Token    string // Bearer
}

// MaxHeader bounds the Authorization header this package reads.
const MaxHeader = 4096

// ErrMalformed is returned for an Authorization header that cannot be read: an
// unknown scheme, bad base64, a missing colon, control characters, too long.
var ErrMalformed = errors.New("malformed Authorization header")

// ParseAuthorization reads an Authorization header value (RFC 9110 §11.6.2): the
// scheme is case-insensitive and separated from its parameter by spaces; Basic
// carries base64("user:password") (RFC 7617: the user may not contain a colon; both
// parts must be UTF-8 without control characters); Bearer carries a token68 (RFC
// 6750). Anything else is ErrMalformed.
func ParseAuthorization(h string) (Credentials, error) {
	if len(h) > MaxHeader {
		return Credentials{}, ErrMalformed
	}
	scheme, param, ok := strings.Cut(h, " ")
	if !ok {
		return Credentials{}, ErrMalformed
	}
	param = strings.TrimLeft(param, " ")
	if param == "" || strings.ContainsAny(param, " \t") {
		return Credentials{}, ErrMalformed
	}
	switch {
	case strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.Strict().DecodeString(param)
		if err != nil {
			return Credentials{}, ErrMalformed
		}
		s := string(raw)
		user, pass, ok := strings.Cut(s, ":")
		if !ok || user == "" || !printable(user) || !printable(pass) {
			return Credentials{}, ErrMalformed
		}
		return Credentials{Scheme: Basic, User: user, Password: pass}, nil
	case strings.EqualFold(scheme, "Bearer"):
		if !isToken68(param) {
			return Credentials{}, ErrMalformed
		}
		return Credentials{Scheme: Bearer, Token: param}, nil
	}
	return Credentials{}, ErrMalformed
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}

// isToken68 reports whether s is an RFC 9110 token68: ALPHA DIGIT - . _ ~ + / then "=" padding.
func isToken68(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}
