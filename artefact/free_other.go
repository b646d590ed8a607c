//go:build !unix && !windows

package artefact

import "errors"

// freeBytes cannot be told on this system: a min_free policy refuses uploads there
// with the error, rather than writing past the floor unseen.
func freeBytes(string) (int64, error) {
	return 0, errors.New("free disk space is unknown on this system")
}
