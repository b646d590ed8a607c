package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The served documents are checked with the tools their users run, from npm, which
// tools/speclint pins (package.json and package-lock.json; .ci/run runs npm ci there):
// Redocly's recommended and Spectral's spectral:oas rulesets must find nothing, and
// the types openapi-typescript generates must type-check a small program. Without
// the tools these tests skip with one line on stderr; under CI they fail.

// speclint is the directory of the npm tools, from the e2e package's directory.
const speclint = "../tools/speclint"

// exampleConfigs are the configs whose served documents are validated and linted: the
// demo, the demo with auth, every field type and noun update, seed 002's Flask app,
// and webhooks.
var exampleConfigs = []struct {
	name   string
	config string // "" for the built-in demo
	auth   string // the Authorization that may read /openapi.json
}{
	{"demo", "", ""},
	{"secure", "../examples/secure.yaml", alice},
	{"fields", "../examples/fields.yaml", ""},
	{"flask", "../examples/flask.yaml", ""},
	{"webhooks", "../examples/webhooks.yaml", ""},
	{"deprecation", "../examples/deprecation.yaml", ""},
}

// servedDocument starts a server with the config and returns the document it serves.
func servedDocument(t *testing.T, config, auth string) []byte {
	t.Helper()
	var args []string
	if config != "" {
		args = []string{"--config", config}
	}
	s := startServer(t, "", args...)
	r := s.do("GET", "/openapi.json", "", "Authorization", auth)
	if r.Status != 200 {
		t.Fatalf("GET /openapi.json: %d %s", r.Status, r.Body)
	}
	return r.Body
}

var missingTools sync.Map // reason → *sync.Once

// needTool stops a test that lacks a tool: a skip, with one line on stderr for each
// missing tool however many tests need it (visible without -v), or under CI, where
// .ci/run installs every tool, a failure.
func needTool(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is missing; .ci/run installs it", what)
	}
	once, _ := missingTools.LoadOrStore(what, new(sync.Once))
	once.(*sync.Once).Do(func() { fmt.Fprintf(os.Stderr, "e2e: skipped the tests that need %s\n", what) })
	t.Skipf("%s is missing", what)
}

// nodeTool returns the absolute path of a command that npm installed in tools/speclint.
func nodeTool(t *testing.T, name string) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		needTool(t, "Node.js (node)")
	}
	p, err := filepath.Abs(filepath.Join(speclint, "node_modules", ".bin", name))
	if err != nil {
		t.Fatal(err)
	}
	// The stat (and the reads of the tools' files below) are part of the go test
	// cache's key: installing the tools or editing their configs reruns the test.
	if _, err := os.Stat(p); err != nil {
		needTool(t, "tools/speclint's npm packages (cd tools/speclint && npm ci)")
	}
	readFile(t, filepath.Join(speclint, "package-lock.json"))
	return p
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// runTool runs a command in dir with a generous bound (the machine may be loaded) and
// returns its standard output and standard error.
func runTool(t *testing.T, dir string, env []string, name string, args ...string) (stdout, stderr []byte, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.Bytes(), errOut.Bytes(), err
}

// nodeEnv keeps the npm tools from calling home: no telemetry, no update check.
var nodeEnv = []string{"REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_COLOR=1"}

// TestServedDocumentsLint: Redocly CLI (recommended) and Spectral (spectral:oas), with
// the rulesets of tools/speclint, find nothing in the documents the example configs
// serve — no error and no warning. The two rules turned off there say why.
func TestServedDocumentsLint(t *testing.T) {
	redocly, spectral := nodeTool(t, "redocly"), nodeTool(t, "spectral")
	dir := t.TempDir()
	var files []string
	for _, c := range exampleConfigs {
		f := filepath.Join(dir, c.name+".json")
		if err := os.WriteFile(f, servedDocument(t, c.config, c.auth), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	tools, err := filepath.Abs(speclint)
	if err != nil {
		t.Fatal(err)
	}
	readFile(t, filepath.Join(speclint, "redocly.yaml"))
	readFile(t, filepath.Join(speclint, ".spectral.yaml"))

	// Redocly writes one JSON report per document, one after the other; it exits 1
	// when it finds an error, so the reports, not the status, are what count.
	out, errOut, runErr := runTool(t, tools, nodeEnv, redocly,
		append([]string{"lint", "--config", filepath.Join(tools, "redocly.yaml"), "--format", "json"}, files...)...)
	dec := json.NewDecoder(bytes.NewReader(out))
	reports := 0
	for dec.More() {
		var report struct {
			Problems []struct {
				RuleID   string `json:"ruleId"`
				Severity string `json:"severity"`
				Message  string `json:"message"`
				Location []struct {
					Source  struct{ Ref string } `json:"source"`
					Pointer string               `json:"pointer"`
				} `json:"location"`
			} `json:"problems"`
		}
		if err := dec.Decode(&report); err != nil {
			t.Fatalf("redocly lint: %v (%v)\n%s", err, runErr, errOut)
		}
		reports++
		for _, p := range report.Problems {
			where := ""
			for _, l := range p.Location {
				where += " " + filepath.Base(l.Source.Ref) + l.Pointer
			}
			t.Errorf("Redocly %s %s: %s at%s", p.Severity, p.RuleID, p.Message, where)
		}
	}
	if reports != len(files) {
		t.Fatalf("redocly lint: %d reports for %d documents (%v)\n%s", reports, len(files), runErr, errOut)
	}

	out, errOut, runErr = runTool(t, tools, nodeEnv, spectral,
		append([]string{"lint", "--ruleset", filepath.Join(tools, ".spectral.yaml"), "--format", "json", "--fail-severity", "hint"}, files...)...)
	var results []struct {
		Code     string `json:"code"`
		Message  string `json:"message"`
		Path     []any  `json:"path"`
		Severity int    `json:"severity"` // 0 error, 1 warning, 2 information, 3 hint
		Source   string `json:"source"`
	}
	// The JSON array, then (when it is empty) a sentence: read the array alone.
	if err := json.NewDecoder(bytes.NewReader(out)).Decode(&results); err != nil {
		t.Fatalf("spectral lint: %v (%v)\n%s%s", err, runErr, out, errOut)
	}
	for _, r := range results {
		path := make([]string, len(r.Path))
		for i, p := range r.Path {
			path[i] = fmt.Sprint(p)
		}
		t.Errorf("Spectral %s (severity %d): %s at %s#/%s", r.Code, r.Severity, r.Message, filepath.Base(r.Source), strings.Join(path, "/"))
	}
	if len(results) == 0 && runErr != nil {
		t.Fatalf("spectral lint: %v\n%s", runErr, errOut)
	}
}

// TestGeneratedTypeScriptTypes: openapi-typescript generates types from the demo's
// served document, and tsc --noEmit type-checks tools/speclint/typescript/client.ts
// against them: reads typed as the record itself, list parameters, create, patch,
// the envelope, and @ts-expect-error lines that hold only while the document's
// constraints (required fields, enums, integer types) reach the types.
func TestGeneratedTypeScriptTypes(t *testing.T) {
	generate, tsc := nodeTool(t, "openapi-typescript"), nodeTool(t, "tsc")
	dir := t.TempDir()
	for _, f := range []string{"client.ts", "tsconfig.json"} {
		if err := os.WriteFile(filepath.Join(dir, f), readFile(t, filepath.Join(speclint, "typescript", f)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "openapi.json"), servedDocument(t, "", ""), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, err := runTool(t, dir, nodeEnv, generate, "openapi.json", "-o", "openapi.ts"); err != nil {
		t.Fatalf("openapi-typescript: %v\n%s%s", err, out, errOut)
	}
	if out, errOut, err := runTool(t, dir, nodeEnv, tsc, "-p", "tsconfig.json"); err != nil {
		t.Fatalf("tsc --noEmit over client.ts and the generated types: %v\n%s%s", err, out, errOut)
	}
}
