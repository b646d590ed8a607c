//go:build !linux

package testenv

import "os/exec"

// dieWithParent does nothing here: a test binary that is killed leaves the server
// running (Run stops it when the tests end).
func dieWithParent(*exec.Cmd) {}
