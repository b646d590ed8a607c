// Package config turns a YAML configuration file into a prepared *restkit.Schema
// (and the optional server and artefact repository settings), reporting every
// mistake with its line.
//
// It exists so that the domain package stays free of YAML and of file positions:
// restkit.Schema.Prepare knows what a valid declaration is, and this package knows
// where in the file each part of that declaration was written. A configuration
// is read by people and by `restkit check` in CI, so a typo must never pass
// silently and one run must show every problem, not the first.
//
// # Format
//
// The demo served by `restkit serve` (see Demo, and demo.yaml beside this file) is
// the format by example:
//
//	server:                       # optional; flags and environment override it
//	  addr: 127.0.0.1:8080
//	  data: ./restkit-data
//	  log_format: text            # text or json
//	  debug: false
//	ratelimit:                    # optional: a token bucket per client (see package ratelimit)
//	  rate: 10/s                  # N/s, N/min or N/h; omit for no default limit
//	  burst: 20                   # default: the rate per second, rounded up
//	  trusted_proxies: [10.0.0.0/8]  # peers whose X-Forwarded-For names the client
//	apis:                         # a list; each API has its own URL base
//	  - base: /v1                 # "" (the root) or a path
//	    name: v1                  # optional; derived from base
//	    envelope: true            # {"status":"ok","result":…} bodies
//	    ratelimit: {rate: 100/min, burst: 10}  # this API's own buckets; off: no limit
//	    deprecated: {since: 2026-01-01, sunset: 2027-06-30, successor: /v2}  # or true
//	    resources:                # name → resource, in declaration order
//	      cars:
//	        path: cars            # the list's URL segment: /v1/cars (default: the name)
//	        item_path: cars       # the items': /v1/cars/{id} (default: path); POST works here too
//	        key: id               # a field's name
//	        key_from: body        # body (default), url or generated (integer: 1, 2, 3…; string: UUIDv7)
//	        fields:               # name → field; this order is the JSON/XML order
//	          id: {type: integer, min: 1}
//	          color: {type: enum, values: [red, blue], default: red}
//	          built: {type: integer, renamed_from: year}  # migrations keep year's values
//	        collection: [GET, POST]           # verbs, any case
//	        item: [GET, PUT, PATCH, DELETE]
//	        put_creates: false
//	        page_size: 20
//	        max_page_size: 100
//	        max_body: 1MiB        # bytes, or "512KiB", "10MB", …
//	        max_offset: 10000     # deepest page=N offset, in rows
//	        require_if_match: false
//	        cache_control: no-cache
//	        ratelimit: off        # or {rate: …, burst: …}: this resource's own buckets
//	        history: false        # keep every revision
//	        history_keep: 0       # with history: at most this many per record (0: all)
//	        timestamps: false
//	        description: …
//	        singular: car         # one record in XML and messages; derived from the name when absent
//	        deprecated: true      # its own deprecation (default: its API's)
//	    nouns:                    # name → noun (a device-style singleton)
//	      led:
//	        fields:
//	          state: {type: enum, values: [on, off], default: off}
//	        update: toggle state  # or increment FIELD [BY], or merge
//	artefacts:                    # optional; the artefact repository (Config.Artefacts)
//	  path: /artefacts            # the default; absolute, no trailing slash
//	  max_size: 1GiB              # largest upload; 0 (the default): no limit
//	  keep_versions: 10           # per artefact; 0 (the default): keep all
//	  min_free: 64MiB             # the default; refuse uploads below this free space
//	  directories:                # glob → overrides, in order; the first match wins
//	    releases: {keep_versions: 3}
//	    "team-*": {max_size: 100MiB}
//
// A field has a type (string, integer, number, boolean, datetime, enum, email,
// url) and optionally description, required, nullable, default, min, max,
// minLength, maxLength, pattern, values, readOnly, unique, sortable, filterable,
// renamed_from.
// Mappings of names (resources, nouns, fields) keep the order they are written
// in, which is why the package walks goccy/go-yaml's syntax tree instead of
// decoding into Go maps. Anchors, aliases and merge keys (<<) work as in YAML.
//
// Without an artefacts section Config.Artefacts is nil; artefacts: with nothing
// under it is the repository with every default. Its path must not overlap a
// resource's or a noun's (be equal, or contain or lie inside one); the error
// names the line of the declaration it collides with. Directory patterns are globs
// over a directory's path: path.Match syntax (*, ?, [a-z], \ escapes) within a
// segment, ** for any number of segments (releases/**); a rule covers the
// directories it matches and everything below them (restkit.MatchDirectory).
// cleanup: is a list of policies {match, older_than, keep_latest,
// not_downloaded_for} with ages such as 30d, 2w or 12h; cleanup_every sets how often
// they run (hourly by default). In a directory rule a setting left out inherits the
// repository's; 0 is refused there, since it cannot lift the repository's limit.
//
// Scalars are read as YAML 1.2 does (goccy/go-yaml's choice): on, off, yes and
// no are words, not booleans, so values: [on, off] means what it says and
// required: yes is an error, not a surprise. For the string-like field types
// (string, enum, email, url, datetime) a default or an enum value is taken as
// written whatever YAML would make of it: default: 42 on a string field is "42".
//
// # Errors
//
// Parse returns Errors, one *Error per problem in file order, each formatted as
// "file:line:col: message". Problems come from three places, all in one run:
//
//   - the YAML parser (syntax errors, at the token it stopped at);
//   - the walk over the tree: unknown keys (with "did you mean" for a near miss),
//     repeated keys (naming the first line), values of the wrong YAML type,
//     unknown field types, verbs and update forms, each at the offending node;
//   - restkit.Schema.Prepare, whose failures name paths such as
//     apis[0].resources.cars.fields.year.default. While walking, the decoder
//     records where each such path was written, so each failure is placed at
//     its path's node, or, for something missing, at the nearest recorded
//     prefix (the mapping that lacks it). A failure that quotes one element of
//     a list (a verb, an enum value) points at that element. Prepare's
//     complaints about a path the walk has already reported are dropped as
//     consequences of the first mistake.
package config
