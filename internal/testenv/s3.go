package testenv

import (
	"context"
	"errors"
	"fmt"
	"go/build"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// S3 without RESTKIT_TEST_S3: a versitygw that the test binary starts, serving a
// temporary directory (its posix backend) on a free loopback port, stopped by Run.
//
// An S3 server inside the test process (github.com/johannesboyne/gofakes3 v1.2.0,
// in-memory) was tried and does not pass s3blob's suite: it has no UploadPartCopy
// (a part PUT with x-amz-copy-source answers MissingContentLength, so ComposeObject
// fails), its ListMultipartUploads answers NoSuchUpload (so Clean fails), it ignores
// x-amz-copy-source-if-match (the conditional copy of Commit), and it stores a body
// sent as aws-chunked with a trailing checksum (STREAMING-UNSIGNED-PAYLOAD-TRAILER,
// what minio-go sends over plain HTTP) with its chunk framing, so large blobs read
// back longer than written. versitygw is what .ci/run uses too.
const (
	VersityGWVersion = "v1.8.0"
	versityGWModule  = "github.com/versity/versitygw/cmd/versitygw"
	s3Access         = "restkit-test"
	s3Secret         = "restkit-test-secret"
	s3Bucket         = "restkit-test"
	installTimeout   = 15 * time.Minute // a first build of versitygw takes minutes on a small machine
	startTimeout     = 60 * time.Second
)

var gateway struct {
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan error
	dir  string
}

// installErr is the failure of the install Run attempted, if any: not tried again.
var installErr error

func findS3() (string, string) {
	if installErr != nil {
		return "", "no S3 server: " + installErr.Error()
	}
	bin, err := versityGW()
	if err != nil {
		return "", "no S3 server: " + err.Error()
	}
	url, err := startVersityGW(bin)
	if err != nil {
		return "", "no S3 server: " + err.Error()
	}
	return url, ""
}

// versityGW finds the versitygw binary: on PATH, in GOPATH/bin (where .ci/run's go
// install puts it), or in the user's cache directory, where it is installed when
// none is found (go install, bounded by installTimeout, announced by notice).
func versityGW() (string, error) {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	for _, gopath := range filepath.SplitList(build.Default.GOPATH) {
		if p := filepath.Join(gopath, "bin", "versitygw"); isExecutable(p) {
			return p, nil
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("versitygw is not installed and there is no cache directory to install it in: %v", err)
	}
	dir := filepath.Join(cache, "restkit-test", "versitygw-"+VersityGWVersion)
	bin := filepath.Join(dir, "versitygw")
	if isExecutable(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// Test binaries of several packages may get here at once: one installs, the
	// others wait for it and find the binary.
	unlock, err := lockFile(filepath.Join(dir, "install.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if isExecutable(bin) {
		return bin, nil
	}
	notice("%s: installing versitygw %s for the S3 tests (go install %s@%s into %s; once per machine, up to %v; set RESTKIT_TEST_S3 to use a server of your own, or to off)",
		suiteName(), VersityGWVersion, versityGWModule, VersityGWVersion, dir, installTimeout)
	tmp, err := os.MkdirTemp(dir, "install-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", versityGWModule+"@"+VersityGWVersion)
	cmd.Dir = tmp // outside any module
	cmd.Env = append(os.Environ(), "GOBIN="+tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("not done after %v", installTimeout)
		}
		return "", fmt.Errorf("installing versitygw %s failed: %v: %s", VersityGWVersion, err, lastLine(out))
	}
	if err := os.Rename(filepath.Join(tmp, "versitygw"), bin); err != nil {
		return "", err
	}
	notice("%s: installed %s", suiteName(), bin)
	return bin, nil
}

// startVersityGW starts bin on a free loopback port and waits until it answers HTTP.
// A port taken meanwhile by another process makes it exit: then another port is tried.
func startVersityGW(bin string) (string, error) {
	dir, err := os.MkdirTemp("", "restkit-test-s3-")
	if err != nil {
		return "", err
	}
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o700); err != nil {
		return "", err
	}
	var last error
	for range 5 {
		addr, err := freeAddr()
		if err != nil {
			return "", err
		}
		log, err := os.Create(filepath.Join(dir, "log"))
		if err != nil {
			return "", err
		}
		cmd := exec.Command(bin, "--access", s3Access, "--secret", s3Secret, "--port", addr, "--quiet", "posix", filepath.Join(dir, "data"))
		cmd.Stdout, cmd.Stderr = log, log
		dieWithParent(cmd)
		if err := cmd.Start(); err != nil {
			log.Close()
			os.RemoveAll(dir)
			return "", err
		}
		log.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		if last = waitHTTP(addr, done); last == nil {
			gateway.mu.Lock()
			gateway.cmd, gateway.done, gateway.dir = cmd, done, dir
			gateway.mu.Unlock()
			return fmt.Sprintf("s3://%s:%s@%s/%s?insecure=true", s3Access, s3Secret, addr, s3Bucket), nil
		}
		_ = cmd.Process.Kill()
		<-done
	}
	out, _ := os.ReadFile(filepath.Join(dir, "log"))
	os.RemoveAll(dir)
	return "", fmt.Errorf("versitygw did not start: %v: %s", last, lastLine(out))
}

// waitHTTP waits until addr answers an HTTP request (any status), or the process
// ends, or startTimeout passes.
func waitHTTP(addr string, done <-chan error) error {
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			return fmt.Errorf("it exited: %v", err)
		default:
		}
		if resp, err := client.Get("http://" + addr + "/"); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case err := <-done:
			return fmt.Errorf("it exited: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return errors.New("no answer within " + startTimeout.String())
}

// stopS3 stops the versitygw this binary started, if any, and removes its files.
func stopS3() {
	gateway.mu.Lock()
	defer gateway.mu.Unlock()
	if gateway.cmd == nil {
		return
	}
	_ = gateway.cmd.Process.Kill()
	<-gateway.done
	os.RemoveAll(gateway.dir)
	gateway.cmd = nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// suiteName is the package under test, from the test binary's name (postgres.test).
func suiteName() string { return strings.TrimSuffix(filepath.Base(os.Args[0]), ".test") }
