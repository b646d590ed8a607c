package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

const reloadV1 = `
apis:
  - resources:
      cars: {key: id, fields: {id: {type: integer}, model: {type: string}}}
`

// reloadConfig is the n-th config of TestReloadUnderLoad: cars, and n more resources.
func reloadConfig(n int) string {
	var b strings.Builder
	b.WriteString(reloadV1)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "      r%d: {key: id, fields: {id: {type: integer}}}\n", i)
	}
	return b.String()
}

// TestReloadUnderLoad: the binary reloads on SIGHUP and on restkit reload while
// clients read and write without pause; not one request fails or is refused, each
// reload serves its new resource, a broken config is refused (the process lives on,
// the old config serves on) and /_admin/config and /readyz name what is served.
func TestReloadUnderLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "api.yaml")
	if err := os.WriteFile(path, []byte(reloadV1), 0o644); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	s := startServer(t, data, "--config", path)

	// Clients: GETs and POSTs in a loop until the reloads are done.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	var nextID atomic.Int64
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				var req *http.Request
				if w%2 == 0 {
					req, _ = http.NewRequest("GET", s.URL+"/cars?limit=5", nil)
				} else {
					body := fmt.Sprintf(`{"id": %d, "model": "m"}`, nextID.Add(1))
					req, _ = http.NewRequest("POST", s.URL+"/cars", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
				}
				resp, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode >= 300 {
						err = fmt.Errorf("%s %s: %d", req.Method, req.URL, resp.StatusCode)
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				ok.Add(1)
			}
		}()
	}

	// Plain requests: the harness's s.do checks answers against the /openapi.json it
	// fetched first, which a reload changes.
	get := func(path string) (int, string) {
		resp, err := client.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	reload := func(n int) {
		t.Helper()
		if n%2 == 1 {
			if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			return
		}
		cmd := exec.Command(binary, "reload", "--data", data)
		cmd.Env = cleanEnv()
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), fmt.Sprintf("asked pid %d to reload", s.cmd.Process.Pid)) {
			t.Fatalf("restkit reload: %v %s", err, out)
		}
	}
	const reloads = 6
	for n := 1; n <= reloads; n++ {
		text := reloadConfig(n)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		reload(n)
		waitUntil(t, fmt.Sprintf("/r%d to be served after reload %d", n, n), func() bool {
			code, _ := get(fmt.Sprintf("/r%d", n))
			return code == 200
		})
		sum := sha256.Sum256([]byte(text))
		if _, body := get("/readyz"); !strings.Contains(body, hex.EncodeToString(sum[:])) {
			t.Fatalf("/readyz after reload %d: %s", n, body)
		}
	}
	// A broken config: refused, logged with its line, the process serves on.
	if err := os.WriteFile(path, []byte(reloadConfig(reloads)+"      broken: {key: nope}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	reload(1)
	waitUntil(t, "the broken config to be refused", func() bool {
		var m map[string]any
		_, body := get("/_admin/config")
		json.Unmarshal([]byte(body), &m)
		e, _ := m["last_error"].(string)
		return strings.Contains(e, "api.yaml:")
	})
	cancel()
	wg.Wait()
	if code, _ := get(fmt.Sprintf("/r%d", reloads)); code != 200 {
		t.Fatal("the last good config is not served after a refused reload")
	}
	if !strings.Contains(s.logs.String(), "reload: "+path+":") {
		t.Fatalf("the refusal is not logged with its line:\n%s", tail(s.logs.String(), 2000))
	}
	var m map[string]any
	_, body := get("/_admin/config")
	json.Unmarshal([]byte(body), &m)
	if m["reloads"] != float64(reloads) {
		t.Fatalf("/_admin/config: %v", m)
	}
	t.Logf("%d requests served across %d reloads, %d failed", ok.Load(), reloads+1, failed.Load())
	if failed.Load() > 0 || ok.Load() == 0 {
		t.Fatalf("%d requests failed during the reloads, the first: %v", failed.Load(), firstErr.Load())
	}
	s.stop()
}
