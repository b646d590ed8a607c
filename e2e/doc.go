// Package e2e holds the end-to-end tests of restkit: they build the real binary, start
// it on a free loopback port with a temporary data directory, and talk HTTP to it.
// Nothing is mocked; a test that passes here passed against what users run.
package e2e
