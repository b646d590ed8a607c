package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// goclient is the module of the generated Go client's test program. It has its own
// go.mod, so that oapi-codegen (a go.mod tool there) and the client's runtime never
// become dependencies of restkit, and lives in testdata, where ./... does not reach.
const goclient = "testdata/goclient"

// TestGeneratedGoClient generates a Go client with oapi-codegen from the document a
// demo server serves and runs testdata/goclient's test with it against that server:
// create, list with paging and filters, read (straight into a Car), patch with
// If-Match (and a stale one: 412), delete, and push and pull an artefact. Nothing
// generated is kept: the module is copied to a temporary directory and the client
// generated there, so the client under test is always the one today's document
// gives, and a document change that breaks generation, compilation or the typed
// answers fails here. The generator's version is pinned by the module's go.sum.
func TestGeneratedGoClient(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"go.mod", "go.sum", "oapi-codegen.yaml", "democlient_test.go"} {
		if err := os.WriteFile(filepath.Join(dir, f), readFile(t, filepath.Join(goclient, f)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"GOWORK=off"}
	// The generator and the runtime come from the module proxy (or the module cache,
	// which .ci/run fills); without either the test cannot run.
	if out, errOut, err := runTool(t, dir, env, "go", "mod", "download"); err != nil {
		t.Logf("go mod download: %v\n%s%s", err, out, errOut)
		needTool(t, "the Go client's modules (cd e2e/testdata/goclient && go mod download)")
	}
	s := startServer(t, "")
	doc := s.do("GET", "/openapi.json", "")
	if doc.Status != 200 {
		t.Fatalf("GET /openapi.json: %d %s", doc.Status, doc.Body)
	}
	if err := os.WriteFile(filepath.Join(dir, "openapi.json"), doc.Body, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, err := runTool(t, dir, env, "go", "tool", "oapi-codegen", "-config", "oapi-codegen.yaml", "openapi.json"); err != nil {
		t.Fatalf("oapi-codegen: %v\n%s%s", err, out, errOut)
	}
	out, errOut, err := runTool(t, dir, append(env, "RESTKIT_URL="+s.URL), "go", "test", "-count=1", "-v", "./...")
	if err != nil {
		t.Fatalf("the generated client's test: %v\n%s%s", err, out, errOut)
	}
	t.Logf("%s", out)
}
