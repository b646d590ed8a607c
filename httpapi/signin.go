package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/auth"
	"github.com/restkit/restkit/ratelimit"
)

// Password guessing is limited twice, in the limiter of the rate limits (Redis with
// --redis, so every node counts in the same buckets):
//
//   - Per client address (signInRule): every password check that misses auth's
//     cache of right passwords, on any route, whatever the route's own limit:
//     bcrypt is the costly part of a guessing attack.
//   - Per account (accountRule, DESIGN §10): failed password checks per user name,
//     whatever the address. Past the limit, every password sign-in to that account
//     is answered 429 with Retry-After, from any address, without a bcrypt
//     comparison, until the bucket has a token again.
//
// How the account limit is built, and why:
//
//   - A right password is refused too while the account is limited, and so is a
//     password that auth remembers from an earlier sign-in (its cache is asked
//     before any check, so each Basic request it serves peeks at the bucket).
//     Otherwise the answers would tell which guess was right (401 or 429 for the
//     wrong ones, 200 for the right one), and guessing would go on against the
//     cache, which holds the real password whenever its user signed in lately.
//     The 429 says so.
//   - API keys (Bearer) are never limited by it: an attacker can lock out an
//     account's password sign-ins, not the machines that use its keys.
//   - Only failures count. A token is taken before the bcrypt comparison, so that
//     concurrent guesses (auth queues eight checks per CPU) cannot all pass a bucket
//     that still looks full, and given back (ratelimit.Ledger's Refund) when the
//     password was right, the server too busy to check it, or the client gone.
//   - Unknown user names are counted like known ones, each by its name: if they
//     were not limited, or shared buckets, the 429 would tell which names exist.
//     Memory stays bounded: the key is a SHA-256 of the name (a fixed length
//     whatever the header carries); a bucket exists only while it is not full, so
//     for at most a minute after its last failure (a refunded one goes at once);
//     each failure costs a bcrypt comparison, which auth bounds per CPU and the
//     address limit bounds per client; and a Local limiter keeps a bounded number
//     of buckets (ratelimit.DefaultMaxKeys) while Redis expires them.
//   - When the limiter cannot answer (Redis down), password checks go on unlimited,
//     as for the address limit; the limiter logs the outage.
var (
	// signInRule bounds the password checks (bcrypt) a client address may cause: 20
	// at once, then 5 a second. A right password is remembered and costs no check again.
	signInRule = ratelimit.Rule{Rate: 5, Burst: 20}
	// accountRule bounds the failed password checks of one user name: 5 at once,
	// then one more every 12 seconds (5 a minute).
	accountRule = ratelimit.Rule{Rate: 5.0 / 60, Burst: 5}
)

// accountKey names the bucket of failed password checks of user.
func accountKey(user string) string {
	sum := sha256.Sum256([]byte(user))
	return "sign-in account|" + hex.EncodeToString(sum[:16])
}

// checkPassword verifies the pending Basic credentials of c within the sign-in
// limits, or, for credentials auth remembered, checks only that their account is
// not limited. false means the answer is written (429).
func (s *Server) checkPassword(w http.ResponseWriter, r *http.Request, c *caller) bool {
	ctx := r.Context()
	if c.pending == nil {
		if c.p != nil && c.p.Scheme == auth.Basic {
			d, err := s.signIns.Peek(ctx, accountKey(c.p.User), accountRule)
			if err == nil && !d.Allowed {
				s.tooManyFailures(w, r, c.p.User, d)
				return false
			}
		}
		return true
	}
	d, err := s.signIns.Allow(ctx, "sign-in|"+ratelimit.ClientKey(r, s.trusted), signInRule)
	if err == nil && !d.Allowed {
		retry := max(1, ratelimit.Seconds(d.RetryAfter))
		w.Header().Set("Retry-After", strconv.Itoa(retry))
		s.metrics.LimiterDenied("sign-in:address")
		s.audit(r, nil, auth.ActionOf(r.Method), "too many password checks", http.StatusTooManyRequests)
		s.writeError(w, r, s.envelopeFor(r.URL.Path), restkit.Errorf(restkit.RateLimited,
			"too many password checks from this address; retry in %ds (an API key needs none)", retry))
		return false
	}
	user, account := c.pending.User, accountKey(c.pending.User)
	d, err = s.signIns.Allow(ctx, account, accountRule)
	if err == nil && !d.Allowed {
		s.tooManyFailures(w, r, user, d)
		return false
	}
	c.verify(ctx, s.auth)
	if err == nil && !errors.Is(c.err, auth.ErrBadCredentials) {
		// Not a failure: the token taken for the check goes back, even if the client
		// has left meanwhile. A refund that fails (Redis down: the limiter logs that)
		// leaves a success counted as a failure until the bucket refills.
		_ = s.signIns.Refund(context.WithoutCancel(ctx), account, accountRule)
	}
	return true
}

// tooManyFailures answers a password sign-in to an account over accountRule.
func (s *Server) tooManyFailures(w http.ResponseWriter, r *http.Request, user string, d ratelimit.Decision) {
	retry := max(1, ratelimit.Seconds(d.RetryAfter))
	w.Header().Set("Retry-After", strconv.Itoa(retry))
	s.metrics.LimiterDenied("sign-in:account")
	// The account is named only when it exists: an unknown name may be a
	// password typed in the wrong field.
	account := ""
	if s.auth.IsUser(user) {
		account = user
	}
	s.audit(r, nil, auth.ActionOf(r.Method), "too many failed sign-ins", http.StatusTooManyRequests, slog.String("account", account))
	s.writeError(w, r, s.envelopeFor(r.URL.Path), restkit.Errorf(restkit.RateLimited,
		"too many failed sign-ins to this account; its password sign-ins are refused, even with the right password, for %ds (its API keys still work)", retry))
}
