package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// chromiumPath is Debian's chromium, which .ci/run installs; Playwright's own browser
// download is never used.
const chromiumPath = "/usr/bin/chromium"

// TestConsole drives the web console (/ui/) in a real browser against the real
// binary: web/e2e/console.test.mjs, run by Node's test runner with playwright-core and
// axe-core (web/e2e/package-lock.json, installed by .ci/run with npm ci). Two servers:
// the demo without auth, and examples/secure.yaml with alice (admin) and bob
// (reader). Screenshots of every page land in web/e2e/out/ (not committed); with
// RESTKIT_SCREENSHOTS=update the ones the README shows are copied to
// docs/screenshots/. Without node, chromium or the npm packages the test skips
// with one line on stderr, visible without -v.
func TestConsole(t *testing.T) {
	node, err := exec.LookPath("node")
	skip := ""
	switch {
	case err != nil:
		skip = "node is not installed"
	case !exists(chromiumPath):
		skip = chromiumPath + " is not installed (apt-get install chromium)"
	case !exists("../web/e2e/node_modules/playwright-core") || !exists("../web/e2e/node_modules/axe-core"):
		skip = "the npm packages are not installed (cd web/e2e && npm ci)"
	}
	if skip != "" {
		fmt.Fprintf(os.Stderr, "e2e: TestConsole skipped: %s\n", skip)
		t.Skip(skip)
	}
	demo := startServer(t, "")
	secure := startServer(t, "", "--config", "../examples/secure.yaml")
	out, err := filepath.Abs("../web/e2e/out")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "console.test.mjs")
	cmd.Dir = "../web/e2e"
	cmd.Env = append(cleanEnv(), "CONSOLE_URL="+demo.URL, "CONSOLE_SECURE_URL="+secure.URL, "CONSOLE_OUT="+out,
		"CHROMIUM="+chromiumPath, "CONSOLE_TMP="+t.TempDir())
	outText, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the browser tests failed: %v\n%s", err, outText)
	}
	t.Logf("%s", outText)
	if os.Getenv("RESTKIT_SCREENSHOTS") == "update" {
		for _, name := range readmeShots {
			b, err := os.ReadFile(filepath.Join(out, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join("../docs/screenshots", name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// readmeShots are the screenshots the README shows (docs/screenshots/).
var readmeShots = []string{"overview.png", "list.png", "record.png", "edit-conflict.png", "noun.png", "directory.png", "signin.png", "list-390-dark.png"}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
