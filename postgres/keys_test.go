package postgres

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/restkit/restkit"
)

// TestKeysAcrossNodes: stores with separate pools on one schema, as separate nodes
// have, allocate generated integer keys at once, singly and in batches, while nodes
// migrate: no key is handed out twice and a batch's keys are consecutive.
func TestKeysAcrossNodes(t *testing.T) {
	url := newTestSchema(t)
	generated := func() *restkit.Schema {
		return cars(t, func(r *restkit.Resource) { r.KeySource = restkit.KeyGenerated })
	}
	nodes := []*Store{mustOpen(t, url, WithMaxConns(4)), mustOpen(t, url, WithMaxConns(4)), mustOpen(t, url, WithMaxConns(4))}
	sc := generated()
	res := sc.APIs[0].Resources[0]
	for _, s := range nodes {
		mustMigrate(t, s, sc)
	}
	const perNode, batch = 20, 4
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		keys []int64
	)
	for i, s := range nodes {
		for j := range perNode {
			wg.Go(func() {
				if j == perNode/2 {
					// A node migrating again meanwhile changes nothing.
					if err := s.Migrate(ctx, generated()); err != nil {
						t.Errorf("node %d: Migrate: %v", i, err)
					}
				}
				n := 1 + (j%2)*(batch-1)
				first, err := s.AllocateKeys(ctx, res, n)
				if err != nil {
					t.Errorf("node %d: AllocateKeys: %v", i, err)
					return
				}
				mu.Lock()
				for k := range int64(n) {
					keys = append(keys, first+k)
				}
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	want := len(nodes) * perNode / 2 * (1 + batch)
	slices.Sort(keys)
	if len(keys) != want || len(slices.Compact(slices.Clone(keys))) != want || keys[0] != 1 || keys[len(keys)-1] != int64(want) {
		t.Fatalf("%d keys from %d to %d, want %d distinct keys 1…%d", len(keys), keys[0], keys[len(keys)-1], want, want)
	}
}

// TestKeyCountMigrationWritesNothingTwice: migrating the same schema again does not
// write the count of a generated integer key (a trigger refusing any write to it lets
// the second Migrate pass), and a schema without such a key creates no table for it.
func TestKeyCountMigrationWritesNothingTwice(t *testing.T) {
	s := openTest(t)
	mustMigrate(t, s, cars(t, nil))
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass('_restkit_keys') IS NOT NULL`).Scan(&exists); err != nil || exists {
		t.Fatalf("_restkit_keys exists: %v %v, want not without a generated integer key", exists, err)
	}
	generated := cars(t, func(r *restkit.Resource) { r.KeySource = restkit.KeyGenerated })
	mustMigrate(t, s, generated)
	if _, err := s.pool.Exec(ctx, `CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the key count was written'; END $$;
		CREATE TRIGGER refuse BEFORE INSERT OR UPDATE OR DELETE ON _restkit_keys FOR EACH STATEMENT EXECUTE FUNCTION refuse()`); err != nil {
		t.Fatal(err)
	}
	mustMigrate(t, s, cars(t, func(r *restkit.Resource) { r.KeySource = restkit.KeyGenerated }))
	if _, err := s.AllocateKeys(ctx, generated.APIs[0].Resources[0], 1); err == nil || !strings.Contains(err.Error(), "the key count was written") {
		t.Fatalf("AllocateKeys under the trigger: %v, want the trigger's refusal (the trigger works)", err)
	}
}
