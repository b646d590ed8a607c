package bench_test

// Fan-out of the event streams: the real binary (the demo, SQLite) with N idle
// streams of /led/events; one write at a time (POST /led toggles it), and the time
// from sending the write until each stream has its event. It reports the latency
// percentiles over every (write, stream) pair and the server's resident memory
// before and after opening the streams.
//
//	go test ./bench -run '^$' -bench Fanout -benchtime 1x
//	STREAMS=5000 go test ./bench -run '^$' -bench Fanout -benchtime 1x
//
// The streams and the writer run in this process, on the same CPUs as the server:
// on a 2-core machine the figures include the clients' own work.

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func BenchmarkFanout(b *testing.B) {
	streams := 1000
	if n, err := strconv.Atoi(os.Getenv("STREAMS")); err == nil && n > 0 {
		streams = n
	}
	const writes = 20
	dir := b.TempDir()
	bin := filepath.Join(dir, "restkit")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/restkit").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	for range b.N {
		fanout(b, bin, streams, writes)
	}
}

func fanout(b *testing.B, bin string, streams, writes int) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--addr", addr, "--data", b.TempDir())
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	base := "http://" + addr
	for deadline := time.Now().Add(60 * time.Second); ; {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	rssBefore := rssKiB(b, cmd.Process.Pid)

	// Every stream on a connection of its own, as browsers' would be.
	tr := &http.Transport{MaxIdleConnsPerHost: -1, DisableKeepAlives: true}
	client := &http.Client{Transport: tr}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type receipt struct {
		seq int64
		at  time.Time
	}
	got := make(chan receipt, streams*writes)
	var opened sync.WaitGroup
	opened.Add(streams)
	for range streams {
		go func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/led/events", nil)
			resp, err := client.Do(req)
			if err != nil {
				opened.Done()
				return
			}
			defer resp.Body.Close()
			r := bufio.NewReader(resp.Body)
			_, _ = r.ReadString('\n') // the opening comment: the stream is on
			opened.Done()
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if id, ok := strings.CutPrefix(line, "id: "); ok {
					n, _ := strconv.ParseInt(strings.TrimSpace(id), 10, 64)
					got <- receipt{n, time.Now()}
				}
			}
		}()
	}
	opened.Wait()
	rssAfter := rssKiB(b, cmd.Process.Pid)

	var lat []time.Duration
	for i := 1; i <= writes; i++ {
		start := time.Now()
		resp, err := http.Post(base+"/led", "", nil)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		for n := 0; n < streams; n++ {
			select {
			case r := <-got:
				if r.seq != int64(i) {
					b.Fatalf("event %d while waiting for %d", r.seq, i)
				}
				lat = append(lat, r.at.Sub(start))
			case <-time.After(60 * time.Second):
				b.Fatalf("write %d reached %d of %d streams within 60s", i, n, streams)
			}
		}
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(float64(streams), "streams")
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1), "max-ms")
	b.ReportMetric(float64(rssBefore)/1024, "rss-before-MiB")
	b.ReportMetric(float64(rssAfter)/1024, "rss-streams-MiB")
	b.ReportMetric(float64(rssAfter-rssBefore)/float64(streams), "KiB/stream")
}

// rssKiB reads a process's resident set size (Linux).
func rssKiB(b *testing.B, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Skipf("no /proc: %v", err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
