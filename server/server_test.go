package server

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restkit/restkit/config"
	"github.com/restkit/restkit/internal/datadir"
)

func parse(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

const carsYAML = `
apis:
  - resources:
      cars: {key: id, fields: {id: {type: integer}, model: {type: string}}}
`

// TestNewRefusesWhatCannotBeServed: Validate's refusals come back from New before
// anything is opened.
func TestNewRefusesWhatCannotBeServed(t *testing.T) {
	api := parse(t, carsYAML)
	for name, c := range map[string]struct {
		cfg  Config
		want string
	}{
		"no API":          {Config{}, "no API to serve"},
		"half a TLS pair": {Config{API: api, TLSCert: "cert.pem"}, "go together"},
		"public, no auth": {Config{API: api, Addr: "0.0.0.0:8080"}, "refusing to listen on 0.0.0.0:8080"},
		"negative rate":   {Config{API: api, MinUploadRate: -1}, "minimum upload rate"},
	} {
		data := filepath.Join(t.TempDir(), "data")
		c.cfg.Data = data
		if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: New = %v, want an error saying %q", name, err, c.want)
		}
		if h, _ := datadir.Holder(data); h != 0 {
			t.Errorf("%s: the refused New holds the data directory", name)
		}
	}
	if _, err := New(Config{API: api, Addr: "0.0.0.0:8080", InsecurePublic: true, Data: t.TempDir()}); err != nil {
		t.Errorf("a public address with InsecurePublic: %v", err)
	}
}

// TestOneServerPerDataDirectory: a second New on a directory a Server holds is an
// InUseError; Close releases it; a New that fails half-way releases it too.
func TestOneServerPerDataDirectory(t *testing.T) {
	data := t.TempDir()
	api := parse(t, carsYAML)
	a, err := New(Config{API: api, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	var inUse *datadir.InUseError
	if _, err := New(Config{API: parse(t, carsYAML), Data: data}); !errors.As(err, &inUse) {
		t.Fatalf("a second New on a held directory: %v, want InUseError", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	// A declaration the database refuses (the key's type changed) fails New after the
	// lock was taken: the lock must be released with everything else.
	retyped := parse(t, `
apis:
  - resources:
      cars: {key: id, fields: {id: {type: string}, model: {type: string}}}
`)
	if _, err := New(Config{API: retyped, Data: data}); err == nil || !strings.Contains(err.Error(), "preparing the database") {
		t.Fatalf("New with a refused migration: %v", err)
	}
	b, err := New(Config{API: api, Data: data})
	if err != nil {
		t.Fatalf("New after a failed New: %v", err)
	}
	b.Close()
	if err := b.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}
