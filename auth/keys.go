package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// KeyPrefix starts every key restkit makes, so a leaked one is recognisable (secret
// scanners match on it) and a Bearer token that lacks it was not made here.
const KeyPrefix = "rk_"

// NewKey makes a random API key (256 bits, base64url) and returns it with the
// lower-case hex SHA-256 that goes into the configuration. The key itself is shown
// once and stored nowhere.
func NewKey() (key, sum string, err error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", "", fmt.Errorf("auth: making a key: %w", err)
	}
	key = KeyPrefix + base64.RawURLEncoding.EncodeToString(raw)
	return key, KeySum(key), nil
}

// KeySum is the hex SHA-256 of a key: what the configuration keeps.
func KeySum(key string) string {
	s := sha256.Sum256([]byte(key))
	return hex.EncodeToString(s[:])
}

// HashPassword returns the bcrypt hash of password at cost, for auth.users.
// bcrypt reads at most 72 bytes: a longer password is refused rather than cut.
func HashPassword(password string, cost int) (string, error) {
	if password == "" {
		return "", fmt.Errorf("auth: the password is empty")
	}
	if len(password) > 72 {
		return "", fmt.Errorf("auth: the password is %d bytes; bcrypt uses at most 72", len(password))
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", fmt.Errorf("auth: hashing the password: %w", err)
	}
	return string(h), nil
}
