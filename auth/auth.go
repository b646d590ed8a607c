package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/restkit/restkit"
)

// Principal is an authenticated caller.
type Principal struct {
	User   string
	Roles  []string
	KeyID  string // the API key's id when Scheme is Bearer
	Scheme Scheme
}

// ErrBadCredentials is returned for credentials that name no one: an unknown user, a
// wrong password, a key that is not configured. Which of these it was is never said.
var ErrBadCredentials = errors.New("invalid credentials")

// ErrBusy is returned when too many password checks are already waiting: the caller
// should answer 503 and the client retry, rather than queue without bound.
var ErrBusy = errors.New("too many password checks at once")

// Artefacts is who may do what in the artefact repository: Access for the whole
// repository, refined per directory by the first rule whose glob matches its name.
type Artefacts struct {
	Access      restkit.Access
	Directories []DirectoryAccess
}

// DirectoryAccess is the Access of the directories whose path Pattern covers
// (restkit.MatchDirectory: path.Match per segment, ** for any number of segments).
type DirectoryAccess struct {
	Pattern string
	Access  restkit.Access
}

// Authority authenticates requests and decides what they may do, for one Schema.
type Authority struct {
	cfg       *restkit.Auth
	users     map[string]*restkit.User
	keys      []keyEntry
	dummy     []byte // a bcrypt hash of the configured cost, compared when the user is unknown
	admin     map[string]bool
	artefacts Artefacts

	bcryptSlots chan struct{} // bounds concurrent bcrypt comparisons to the CPUs
	waiting     atomic.Int64  // checks running or queued for a slot
	compared    atomic.Int64  // bcrypt comparisons made, for tests and metrics
	maxWaiting  int64
	cacheKey    []byte
	mu          sync.Mutex
	verified    map[[32]byte]verifiedEntry
}

type keyEntry struct {
	sum [32]byte
	key *restkit.APIKey
}

type verifiedEntry struct {
	p       *Principal
	expires time.Time
}

// Verified Basic credentials are remembered this long, this many at most.
const (
	verifiedTTL = 5 * time.Minute
	verifiedMax = 4096
)

// New returns the Authority of a prepared schema, or nil when the schema declares no
// auth (everything is open). arts may be nil when no repository is served.
func New(schema *restkit.Schema, arts *Artefacts) (*Authority, error) {
	cfg := schema.Auth
	if cfg == nil {
		return nil, nil
	}
	a := &Authority{
		cfg:         cfg,
		users:       make(map[string]*restkit.User, len(cfg.Users)),
		admin:       map[string]bool{},
		bcryptSlots: make(chan struct{}, max(1, runtime.GOMAXPROCS(0))),
		maxWaiting:  int64(8 * max(1, runtime.GOMAXPROCS(0))),
		cacheKey:    make([]byte, 32),
		verified:    map[[32]byte]verifiedEntry{},
	}
	_, _ = rand.Read(a.cacheKey)
	if arts != nil {
		a.artefacts = *arts
	}
	for _, u := range cfg.Users {
		a.users[u.Name] = u
	}
	for _, k := range cfg.Keys {
		raw, err := hex.DecodeString(k.SHA256)
		if err != nil || len(raw) != sha256.Size {
			return nil, fmt.Errorf("auth: key %s: sha256 is not 64 hex digits", k.ID)
		}
		e := keyEntry{key: k}
		copy(e.sum[:], raw)
		a.keys = append(a.keys, e)
	}
	for _, r := range cfg.AdminRoles {
		a.admin[r] = true
	}
	// The dummy hash must cost what the users' hashes cost, or an unknown user would
	// answer faster or slower than a known one: the cost most of them use.
	dummy, err := bcrypt.GenerateFromPassword([]byte("restkit: no such user"), usualCost(cfg))
	if err != nil {
		return nil, fmt.Errorf("auth: making the dummy hash: %w", err)
	}
	a.dummy = dummy
	return a, nil
}

// Compared is how many bcrypt comparisons the Authority has made.
func (a *Authority) Compared() int64 { return a.compared.Load() }

// IsUser reports whether name is a configured user (for logs: an unknown name may
// be a password typed in the wrong field, and is better not written down).
func (a *Authority) IsUser(name string) bool { return a.users[name] != nil }

// Realm is the protection space named in WWW-Authenticate.
func (a *Authority) Realm() string { return a.cfg.Realm }

// usualCost is the bcrypt cost most users' hashes have (Auth.BcryptCost when none).
func usualCost(cfg *restkit.Auth) int {
	count := map[int]int{}
	best, n := cfg.BcryptCost, 0
	for _, u := range cfg.Users {
		if c, err := bcrypt.Cost([]byte(u.PasswordHash)); err == nil {
			count[c]++
			if count[c] > n || (count[c] == n && c > best) {
				best, n = c, count[c]
			}
		}
	}
	return best
}

// MixedCosts lists the users whose password hash has another cost than the schema's
// bcrypt_cost (worth a warning: their check takes another time).
func MixedCosts(cfg *restkit.Auth) []string {
	var out []string
	for _, u := range cfg.Users {
		if c, err := bcrypt.Cost([]byte(u.PasswordHash)); err == nil && c != cfg.BcryptCost {
			out = append(out, u.Name)
		}
	}
	return out
}

// Authenticate returns the caller an Authorization header value names: nil for no
// header (an anonymous request), ErrMalformed or ErrBadCredentials when the header
// names no one, ErrBusy when too many password checks are queued.
func (a *Authority) Authenticate(ctx context.Context, header string) (*Principal, error) {
	p, pending, err := a.Identify(header)
	if pending != nil {
		return a.Verify(ctx, *pending)
	}
	return p, err
}

// Identify does the cheap part of authentication: it parses the header, checks a
// bearer key, and finds Basic credentials verified recently. Basic credentials that
// need a bcrypt comparison come back as pending, for Verify: the HTTP layer rate
// limits the client before paying for that, and never pays it on open routes.
func (a *Authority) Identify(header string) (p *Principal, pending *Credentials, err error) {
	if header == "" {
		return nil, nil, nil
	}
	c, err := ParseAuthorization(header)
	if err != nil {
		return nil, nil, err
	}
	if c.Scheme == Bearer {
		p, err := a.bearer(c.Token)
		return p, nil, err
	}
	a.mu.Lock()
	e, ok := a.verified[a.credentialKey(c.User, c.Password)]
	a.mu.Unlock()
	if ok && time.Now().Before(e.expires) {
		return e.p, nil, nil
	}
	return nil, &c, nil
}

// Verify checks pending Basic credentials (bcrypt).
func (a *Authority) Verify(ctx context.Context, c Credentials) (*Principal, error) {
	return a.basic(ctx, c.User, c.Password)
}

// bearer finds the key whose SHA-256 is the token's, comparing against every
// configured key in constant time so the time taken says nothing about near misses.
func (a *Authority) bearer(token string) (*Principal, error) {
	sum := sha256.Sum256([]byte(token))
	var found *restkit.APIKey
	for i := range a.keys {
		if subtle.ConstantTimeCompare(sum[:], a.keys[i].sum[:]) == 1 {
			found = a.keys[i].key
		}
	}
	if found == nil {
		return nil, ErrBadCredentials
	}
	return &Principal{User: found.User, Roles: found.Roles, KeyID: found.ID, Scheme: Bearer}, nil
}

// basic checks a user's password. An unknown user costs one bcrypt comparison against
// a dummy hash, like a wrong password.
func (a *Authority) basic(ctx context.Context, user, password string) (*Principal, error) {
	ck := a.credentialKey(user, password)
	now := time.Now()
	a.mu.Lock()
	e, ok := a.verified[ck]
	a.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.p, nil
	}
	u := a.users[user]
	hash := a.dummy
	if u != nil && u.PasswordHash != "" {
		hash = []byte(u.PasswordHash)
	}
	if a.waiting.Add(1) > a.maxWaiting {
		a.waiting.Add(-1)
		return nil, ErrBusy
	}
	defer a.waiting.Add(-1)
	select {
	case a.bcryptSlots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	err := bcrypt.CompareHashAndPassword(hash, []byte(password))
	a.compared.Add(1)
	<-a.bcryptSlots
	if err != nil || u == nil || u.PasswordHash == "" {
		return nil, ErrBadCredentials
	}
	p := &Principal{User: u.Name, Roles: u.Roles, Scheme: Basic}
	a.mu.Lock()
	if len(a.verified) >= verifiedMax {
		clear(a.verified) // crude but bounded; the next requests verify again
	}
	a.verified[ck] = verifiedEntry{p: p, expires: now.Add(verifiedTTL)}
	a.mu.Unlock()
	return p, nil
}

// credentialKey is a keyed digest of user and password: what the cache is indexed by,
// never the password itself.
func (a *Authority) credentialKey(user, password string) [32]byte {
	h := sha256.New()
	h.Write(a.cacheKey)
	h.Write([]byte(user))
	h.Write([]byte{0})
	h.Write([]byte(password))
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// SessionPrincipal returns the caller a session cookie names, as the configuration
// has it now: the user (keyID empty), or the API key keyID acting for user, with
// their current roles and Scheme Session. credential is what the session is bound
// to — the user's password hash, or the key's SHA-256 — so that changing a password
// or a key ends every session opened with the old one. ok is false when the user or
// key is no longer configured (its sessions end with it), or the key now acts for
// another user.
func (a *Authority) SessionPrincipal(user, keyID string) (p *Principal, credential []byte, ok bool) {
	if keyID != "" {
		for i := range a.keys {
			if k := a.keys[i].key; k.ID == keyID && k.User == user {
				return &Principal{User: k.User, Roles: k.Roles, KeyID: k.ID, Scheme: Session}, a.keys[i].sum[:], true
			}
		}
		return nil, nil, false
	}
	u := a.users[user]
	if u == nil || u.PasswordHash == "" {
		return nil, nil, false
	}
	return &Principal{User: u.Name, Roles: u.Roles, Scheme: Session}, []byte(u.PasswordHash), true
}
