package e2e

import (
	"os/exec"
	"testing"
)

// runCLI runs the restkit binary with args and extra environment, returning its
// combined output.
func runCLI(t testing.TB, env []string, args ...string) (string, error) {
	t.Helper()
	consultOnce.Do(func() { consultSources("..") })
	cmd := exec.Command(binary, args...)
	cmd.Env = append(cleanEnv(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
