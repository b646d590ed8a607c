// Package auth decides who a request comes from and what it may do.
//
// Authentication reads the Authorization header once per request (ParseAuthorization
// is the one parser, fuzzed): HTTP Basic checks a user's bcrypt hash; Bearer checks an
// API key, of which only the SHA-256 is configured. Both comparisons take the same
// time whatever the input: an unknown user is compared against a dummy hash of the
// configured cost, so "no such user" and "wrong password" look and last the same, and
// key digests are compared with crypto/subtle against every configured key.
//
// bcrypt is deliberately slow (tens of milliseconds at cost 10). So that a client
// using Basic on every request does not pay that each time, a successful check is
// remembered for a short while under a keyed SHA-256 of the credentials (the key is
// random per process, so the cache holds nothing a reader of memory could replay
// elsewhere); failures are never cached.
//
// Authorization resolves an Access for the target of a request — a resource, a noun,
// an artefact directory — by inheritance (resource → API → the schema's default;
// directory rule → repository → default) and answers one of: allowed, 401 (no or bad
// credentials) or 403 (known caller, role not allowed). The HTTP layer asks this
// package in its guard, which every route is registered through; beyond that, only
// what a route-level rule cannot know is checked where it is known — the owner of a
// record (owner_field, inside the store's transaction), and which directories a
// listing may show. Stores never decide access.
package auth
