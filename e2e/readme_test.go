package e2e

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tourCommand is one "$ command" line of a README tour block and the output shown
// under it.
type tourCommand struct {
	line int
	cmd  string
	want string
}

// readTour extracts the ```sh blocks that follow a "<!-- tour -->" line in README.md
// (tag ""), or a "<!-- tour TAG -->" line: each tag runs against its own server.
func readTour(t *testing.T, path, tag string) []tourCommand {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		out      []tourCommand
		marked   bool
		inBlock  bool
		cur      *tourCommand
		wantRows []string
	)
	flush := func() {
		if cur != nil {
			cur.want = strings.Join(wantRows, "\n")
			out = append(out, *cur)
			cur, wantRows = nil, nil
		}
	}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(strings.TrimSpace(line), "<!-- tour") && strings.HasSuffix(strings.TrimSpace(line), "-->"):
			marked = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(line), "<!-- tour"), "-->")) == tag
			if !marked {
				continue
			}
		case marked && !inBlock && line == "```sh":
			inBlock = true
		case inBlock && line == "```":
			flush()
			inBlock, marked = false, false
		case inBlock && strings.HasPrefix(line, "$ "):
			flush()
			cur = &tourCommand{line: n, cmd: strings.TrimPrefix(line, "$ ")}
		case inBlock && cur != nil:
			wantRows = append(wantRows, line)
		case marked && !inBlock && strings.TrimSpace(line) != "":
			t.Fatalf("README.md:%d: a tour marker must be followed by a ```sh block", n)
		}
	}
	if len(out) == 0 {
		t.Fatal("README.md has no tour blocks")
	}
	return out
}

// TestReadmeTour runs every command of the README's tour, in order, against a fresh
// demo server and requires exactly the output the README shows.
func TestReadmeTour(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	runTour(t, startServer(t, ""), "")
}

// TestReadmeSecureTour runs the "Securing restkit" tour against examples/secure.yaml.
func TestReadmeSecureTour(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	runTour(t, startServer(t, "", "--config", "../examples/secure.yaml"), "secure")
}

// TestReadmeFlaskTour runs the "A Flask app's routes" tour against examples/flask.yaml.
func TestReadmeFlaskTour(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	runTour(t, startServer(t, "", "--config", "../examples/flask.yaml"), "flask")
}

// TestReadmeRelationsTour runs the "Relations" tour against examples/relations.yaml.
func TestReadmeRelationsTour(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	runTour(t, startServer(t, "", "--config", "../examples/relations.yaml"), "relations")
}

// TestReadmeDeprecationTour runs the deprecation tour against examples/deprecation.yaml.
func TestReadmeDeprecationTour(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	runTour(t, startServer(t, "", "--config", "../examples/deprecation.yaml"), "deprecation")
}

func runTour(t *testing.T, s *server, tag string) {
	host := strings.TrimPrefix(s.URL, "http://")
	work := t.TempDir() // the tour writes files: keep them out of the repository
	env := append(cleanEnv(), "PATH="+filepath.Dir(binary)+string(os.PathListSeparator)+os.Getenv("PATH"), "RESTKIT_SERVER="+s.URL)
	for _, c := range readTour(t, "../README.md", tag) {
		cmd := exec.Command("sh", "-c", strings.ReplaceAll(c.cmd, "localhost:8080", host))
		cmd.Dir, cmd.Env = work, env
		out, err := cmd.Output()
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == 28 && strings.Contains(c.cmd, "curl -sN -m ") {
			err = nil // curl's --max-time ended a stream that does not end by itself
		}
		if err != nil {
			t.Fatalf("README.md:%d: %s\nfailed: %v\n%s", c.line, c.cmd, err, out)
		}
		if got := strings.TrimRight(string(out), "\n"); got != c.want {
			t.Errorf("README.md:%d: %s\ngot:\n%s\nREADME shows:\n%s", c.line, c.cmd, got, c.want)
		}
	}
}

// TestReadmeCapabilitiesTour runs the capability switches tour against
// examples/capabilities.yaml, with the restkit CLI.
func TestReadmeCapabilitiesTour(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	runTour(t, startServer(t, "", "--config", "../examples/capabilities.yaml"), "capabilities")
}

// TestReadmeEventsTour runs the "Events" tour against a fresh demo server.
func TestReadmeEventsTour(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	runTour(t, startServer(t, ""), "events")
}
