package restkit

import (
	"path"
	"strings"
)

// MatchDirectory reports whether a directory rule's glob covers dir: whether it
// matches dir or one of dir's ancestors. A rule on a directory so covers its whole
// subtree ("secret" covers "secret/x/y", as it did when directories had one level).
//
// A glob is matched segment by segment with path.Match (* ? [...] within a segment);
// a segment ** matches any number of segments, none included: "releases/**" covers
// releases and everything below it, "**/snapshots" every directory named snapshots.
func MatchDirectory(pattern, dir string) bool {
	pat, segs := strings.Split(pattern, "/"), strings.Split(dir, "/")
	for n := len(segs); n >= 1; n-- {
		if matchSegments(pat, segs[:n]) {
			return true
		}
	}
	return false
}

func matchSegments(pat, segs []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(segs); i++ {
				if matchSegments(pat[1:], segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], segs[0]); !ok {
			return false
		}
		pat, segs = pat[1:], segs[1:]
	}
	return len(segs) == 0
}

// CheckDirectoryPattern says what is wrong with a directory glob, or "".
func CheckDirectoryPattern(pattern string) string {
	if pattern == "" {
		return "a directory pattern must not be empty"
	}
	for _, seg := range strings.Split(pattern, "/") {
		switch {
		case seg == "":
			return "a directory pattern must not have an empty segment (//, or a leading or trailing /)"
		case seg == "**":
		case strings.Contains(seg, "**"):
			return "** must be a whole segment (releases/**)"
		default:
			if _, err := path.Match(seg, ""); err != nil {
				return "segment " + seg + " is not a valid glob: " + err.Error()
			}
		}
	}
	return ""
}
