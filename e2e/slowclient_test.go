package e2e

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSlowlorisHeaders: a client that sends its headers one byte at a time is cut off
// once --read-header-timeout has passed, however steadily it trickles.
func TestSlowlorisHeaders(t *testing.T) {
	s := startServer(t, "", "--read-header-timeout", "1s")
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	closed := make(chan time.Duration, 1)
	go func() {
		_, _ = io.Copy(io.Discard, conn) // returns when the server closes the connection
		closed <- time.Since(start)
	}()
	request := "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Padding: " + strings.Repeat("a", 100) + "\r\n\r\n"
	sent := 0
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for sent < len(request) {
		select {
		case took := <-closed:
			// At 1s, not at some later limit (the trickle takes 39s): the bound is loose
			// for a loaded machine.
			if took < 900*time.Millisecond || took > 20*time.Second {
				t.Fatalf("connection closed after %v, want about 1s", took)
			}
			if sent >= len(request) {
				t.Fatal("the whole request was sent")
			}
			// A healthy client is not affected.
			s.run(t, []step{{name: "health", method: "GET", path: "/healthz", status: 200}})
			return
		case <-tick.C:
			_, _ = conn.Write([]byte{request[sent]}) // fails once the server has closed
			sent++
		}
	}
	t.Fatalf("the server read all %d header bytes sent one per 300ms without cutting the client off", sent)
}

// TestSlowUploadCutOff: an upload that stalls after the grace period is answered 408,
// its connection closed, and nothing of it is kept; a brisk one is unaffected.
func TestSlowUploadCutOff(t *testing.T) {
	s := startServer(t, "", "--upload-grace", "1s", "--min-upload-rate", "1KiB")
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	// 100 KiB declared, 10 bytes sent, then nothing: at 1 KiB/s after a 1s grace, cut off at ~1s.
	if _, err := io.WriteString(conn, "PUT /artefacts/slow/big.bin HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\n"+
		"Content-Length: 102400\r\n\r\n0123456789"); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response to a stalled upload: %v", err)
	}
	body, _ := io.ReadAll(resp.Body) // to EOF: the server closes the connection
	resp.Body.Close()
	took := time.Since(start)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(body), "too slowly") {
		t.Fatalf("stalled upload: %d %s", resp.StatusCode, body)
	}
	if took < 900*time.Millisecond || took > 30*time.Second { // about 1s; loose for a loaded machine
		t.Fatalf("stalled upload answered after %v, want about 1s", took)
	}
	if resp.Header.Get("Connection") != "close" && !resp.Close {
		t.Errorf("stalled upload: the connection is kept open")
	}
	var staged []string
	_ = filepath.WalkDir(s.Data, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), "stage-") {
			staged = append(staged, p)
		}
		return nil
	})
	if len(staged) > 0 {
		t.Errorf("staged blobs left behind: %v", staged)
	}
	payload := strings.Repeat("x", 64<<10)
	s.run(t, []step{
		{name: "nothing stored", method: "GET", path: "/artefacts/slow/big.bin", status: 404},
		{name: "brisk upload", method: "PUT", path: "/artefacts/slow/big.bin", body: payload, headers: []string{"Content-Type", "application/octet-stream"}, status: 201},
		{name: "brisk JSON", method: "POST", path: "/cars", body: `{"id":1,"model":"Golf","color":"red"}`, status: 201},
	})
}

// TestSlowJSONBodyCutOff: the rate applies to every request body, not only uploads.
func TestSlowJSONBodyCutOff(t *testing.T) {
	s := startServer(t, "", "--upload-grace", "1s", "--min-upload-rate", "1KiB")
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "POST /cars HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"id\":"); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response to a stalled body: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("stalled JSON body: %d %s", resp.StatusCode, body)
	}
}
