package e2e

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/restkit/restkit/internal/testenv"
	"github.com/restkit/restkit/postgres"
)

const migrateV1 = `
apis:
  - resources:
      cars:
        key: id
        history: true
        fields:
          id: {type: integer}
          model: {type: string, required: true, maxLength: 200}
          color: {type: string, sortable: true}
          year: {type: integer, sortable: true}
          notes: {type: string, nullable: true}
`

// migrateV2 renames year to built and makes it a string, drops notes, narrows model
// and color, and adds doors.
const migrateV2 = `
apis:
  - resources:
      cars:
        key: id
        history: true
        fields:
          id: {type: integer}
          model: {type: string, required: true, maxLength: 20}
          color: {type: enum, values: [red, black], sortable: true}
          built: {type: string, sortable: true, renamed_from: year}
          doors: {type: integer, default: 4}
`

const migratePlan = `  rename  cars.built: from year, keeping its values and their history
  drop    cars.notes: the field was removed: its column and its string values are deleted (destructive)
  retype  cars.built: integer → string; every stored value is converted (destructive)
  narrow  cars.color: string → enum; every stored value is checked (destructive)
  narrow  cars.model: maxLength 200 → 20; every stored value is checked (destructive)
  add     cars.doors: a new integer column; the records it holds take the default 4
`

// TestMigrateSQLite and TestMigratePostgres: a server refuses to start on a
// destructive change and points to restkit migrate; migrate --dry-run prints the plan
// and changes nothing; migrate without --allow-destructive refuses; with it, the
// plan is carried out, and the server starts and serves the records with their
// renamed, converted and added fields, history included.
func TestMigrateSQLite(t *testing.T) {
	testMigrate(t, nil, func(dir string) []string { return []string{"--data", dir} }, "plan for ")
}

func TestMigratePostgres(t *testing.T) {
	url, drop, err := postgres.NewTestSchema(context.Background(), testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = drop(context.Background()) })
	testMigrate(t, []string{"--postgres", url}, func(string) []string { return []string{"--postgres", url} }, "plan for PostgreSQL:\n")
}

func testMigrate(t *testing.T, serveArgs []string, migrateArgs func(dir string) []string, planHead string) {
	v1, v2 := writeConfig(t, migrateV1), writeConfig(t, migrateV2)
	srv := startServer(t, "", append([]string{"--config", v1}, serveArgs...)...)
	dir := srv.Data
	for _, b := range []string{`{"id":1,"model":"T","color":"black","year":1908}`, `{"id":2,"model":"Beetle","color":"red","year":1938,"notes":"x"}`} {
		if r := srv.do("POST", "/cars", b); r.Status != 201 {
			t.Fatalf("POST: %d %s", r.Status, r.Body)
		}
	}
	if r := srv.do("PUT", "/cars/1", `{"id":1,"model":"T","color":"black","year":1909}`); r.Status != 200 {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	srv.stop()

	// serve refuses, and says what to run.
	cmd := exec.Command(binary, append([]string{"serve", "--addr", freeAddr(t), "--data", dir, "--config", v2}, serveArgs...)...)
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), `resource cars: field "notes" was removed from the declaration but the table still holds it; restore the field, or drop it with its values; `+
		"restkit migrate --dry-run (with the same --config and --data) shows the plan, and restkit migrate --allow-destructive carries it out") {
		t.Fatalf("serve on a destructive change: %v\n%s", err, out)
	}

	args := append([]string{"migrate", "--config", v2}, migrateArgs(dir)...)
	for _, tc := range []struct {
		extra []string
		fails bool
		tail  string
	}{
		{[]string{"--dry-run"}, false, "dry run: nothing was changed; 4 steps are destructive: restkit migrate --allow-destructive carries them out\n"},
		{nil, true, "restkit: refused, and nothing was changed:\n  resource cars: field \"color\" now allows fewer values"},
		{[]string{"--allow-destructive"}, false, "migrated: 6 steps carried out\n"},
	} {
		out, err := runCLI(t, nil, append(args, tc.extra...)...)
		if (err != nil) != tc.fails || !strings.HasPrefix(out, planHead) || !strings.Contains(out, migratePlan+strings.SplitN(tc.tail, "\n", 2)[0]) {
			t.Fatalf("restkit %s: %v\n%s\nwant the plan, then %s", strings.Join(tc.extra, " "), err, out, tc.tail)
		}
	}
	if out, err := runCLI(t, nil, args...); err != nil || out != "nothing to do: the database matches the config\n" {
		t.Errorf("migrate again: %v\n%s", err, out)
	}

	srv = startServer(t, dir, append([]string{"--config", v2}, serveArgs...)...)
	srv.run(t, []step{
		{method: "GET", path: "/cars", status: 200, wantJSON: `[{"id":1,"model":"T","color":"black","built":"1909","doors":4},{"id":2,"model":"Beetle","color":"red","built":"1938","doors":4}]`},
		{method: "GET", path: "/cars?sort=-built", status: 200, wantIn: []string{`[{"id":2,`}},
		{method: "GET", path: "/cars/1/revisions/1", status: 200, wantJSON: `{"id":1,"model":"T","color":"black","built":"1908"}`},
		{method: "POST", path: "/cars", body: `{"id":3,"model":"Ka","color":"green"}`, status: 400},
	})
}
