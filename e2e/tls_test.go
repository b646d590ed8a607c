package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and localhost and its key
// to dir, and returns their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "restkit test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestTLS: --tls-cert and --tls-key serve HTTPS, with HTTP/2 to a client that offers it.
func TestTLS(t *testing.T) {
	consultOnce.Do(func() { consultSources("..") })
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	addr := freeAddr(t)
	cmd := exec.Command(binary, "serve", "--addr", addr, "--data", t.TempDir(), "--tls-cert", certFile)
	cmd.Env = append(cleanEnv(), "RESTKIT_TLS_KEY="+keyFile)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var resp *http.Response
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err = c.Get("https://" + addr + "/healthz"); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("no HTTPS answer: %v\n%s", err, logs.String())
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Proto != "HTTP/2.0" || !strings.Contains(string(body), `"ok"`) {
		t.Fatalf("GET /healthz over TLS: %s %d %s", resp.Proto, resp.StatusCode, body)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("nosniff missing over HTTP/2")
	}
	// Plain HTTP on the TLS port gets nothing useful.
	if r, err := http.Get("http://" + addr + "/healthz"); err == nil {
		r.Body.Close()
		if r.StatusCode == 200 {
			t.Error("plain HTTP served on the TLS port")
		}
	}
	// A write over HTTP/2: the body rate check works on HTTP/2 streams too.
	req, _ := http.NewRequest("POST", "https://"+addr+"/cars", strings.NewReader(`{"id":1,"model":"Golf","color":"red"}`))
	req.Header.Set("Content-Type", "application/json")
	r2, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != 201 || r2.Proto != "HTTP/2.0" {
		t.Fatalf("POST over TLS: %s %d", r2.Proto, r2.StatusCode)
	}
	// A small body's length is counted by net/http's HTTP/2 server (the handler leaves
	// it to it): the response still declares it.
	r3, err := c.Get("https://" + addr + "/cars/1")
	if err != nil {
		t.Fatal(err)
	}
	b3, _ := io.ReadAll(r3.Body)
	r3.Body.Close()
	if r3.StatusCode != 200 || r3.ContentLength != int64(len(b3)) || r3.Header.Get("Content-Length") != strconv.Itoa(len(b3)) {
		t.Fatalf("GET /cars/1 over HTTP/2: %d, Content-Length %q for %d bytes", r3.StatusCode, r3.Header.Get("Content-Length"), len(b3))
	}
	if !strings.Contains(logs.String(), "scheme=https") {
		t.Errorf("the start line does not say https:\n%s", logs.String())
	}
}

// TestTLSFlagsGoTogether: one of the pair alone, or files that are not a key pair, are
// refused with a message that says what is wrong.
func TestTLSFlagsGoTogether(t *testing.T) {
	certFile, _, _ := selfSigned(t, t.TempDir())
	_, otherKey, _ := selfSigned(t, t.TempDir())
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tls-cert", certFile}, "--tls-cert and --tls-key (RESTKIT_TLS_CERT, RESTKIT_TLS_KEY) go together"},
		{[]string{"--tls-key", otherKey}, "go together"},
		{[]string{"--tls-cert", certFile, "--tls-key", otherKey}, "loading the TLS certificate"},
		{[]string{"--tls-cert", certFile, "--tls-key", filepath.Join(t.TempDir(), "none.pem")}, "no such file"},
	} {
		out, err := runCLI(t, nil, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir()}, tc.args...)...)
		if err == nil || !strings.Contains(out, tc.want) {
			t.Errorf("serve %v: %v\n%s\nwant %q", tc.args, err, out, tc.want)
		}
	}
}
