package logbuf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while the handler's goroutine writes, and
// that counts the writes it got.
type syncBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func text(w io.Writer) slog.Handler {
	return slog.NewTextHandler(w, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})
}

// TestEveryLineInOrder: concurrent loggers; after Flush every line is there, each
// logger's lines in its order, with the attributes of WithAttrs and WithGroup.
func TestEveryLineInOrder(t *testing.T) {
	var out syncBuffer
	h := New(&out, text, Options{Queue: 8, Buffer: 256}) // small: the queue fills, the buffer spills
	defer h.Close()
	log := slog.New(h)
	const loggers, lines = 20, 200
	var wg sync.WaitGroup
	for g := range loggers {
		wg.Go(func() {
			l := log.With("g", g).WithGroup("req")
			for i := range lines {
				l.Info("line", "i", i)
			}
		})
	}
	wg.Wait()
	if err := h.Flush(); err != nil {
		t.Fatal(err)
	}
	next := make([]int, loggers)
	n := 0
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		var g, i int
		if _, err := fmt.Sscanf(line, "level=INFO msg=line g=%d req.i=%d", &g, &i); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if i != next[g] {
			t.Fatalf("logger %d: line %d after %d", g, i, next[g]-1)
		}
		next[g]++
		n++
	}
	if n != loggers*lines {
		t.Errorf("%d lines, want %d", n, loggers*lines)
	}
	out.mu.Lock()
	writes := out.writes
	out.mu.Unlock()
	t.Logf("%d lines in %d writes", n, writes)
}

// TestCloseWritesEverythingAndGoesDirect: Close leaves nothing behind, a line logged
// after it is written at once, and Close may be repeated.
func TestCloseWritesEverythingAndGoesDirect(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := New(f, text, Options{})
	log := slog.New(h)
	for i := range 1000 {
		log.Info("before", "i", i)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	log.Warn("after")
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.Flush(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 1001 || lines[1000] != "level=WARN msg=after" || lines[999] != "level=INFO msg=before i=999" {
		t.Errorf("%d lines, the last %q", len(lines), lines[len(lines)-1])
	}
}

type failing struct{}

func (failing) Write([]byte) (int, error) { return 0, errors.New("disk gone") }

// TestWriteErrorIsReported: Flush and Close report the destination's error.
func TestWriteErrorIsReported(t *testing.T) {
	h := New(failing{}, text, Options{})
	slog.New(h).Info("x")
	if err := h.Flush(); err == nil || !strings.Contains(err.Error(), "disk gone") {
		t.Errorf("Flush: %v", err)
	}
	if err := h.Close(); err == nil {
		t.Error("Close: no error")
	}
}

// TestEnabled follows the wrapped handler's level.
func TestEnabled(t *testing.T) {
	h := New(io.Discard, func(w io.Writer) slog.Handler {
		return slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn})
	}, Options{})
	defer h.Close()
	if h.Enabled(context.Background(), slog.LevelInfo) || !h.Enabled(context.Background(), slog.LevelError) {
		t.Error("Enabled does not follow the wrapped handler")
	}
}

// BenchmarkRequestLine: one request-log line, as httpapi writes it, to a file:
// directly through slog's TextHandler (a write per line) and through this package.
//
//	go test ./internal/logbuf -run '^$' -bench . -benchtime 2s
func BenchmarkRequestLine(b *testing.B) {
	for _, mode := range []string{"direct", "logbuf"} {
		b.Run(mode, func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "log"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			var h slog.Handler = slog.NewTextHandler(f, nil)
			if mode == "logbuf" {
				buf := New(f, func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) }, Options{})
				defer buf.Close()
				h = buf
			}
			log := slog.New(h)
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					log.LogAttrs(ctx, slog.LevelInfo, "request", slog.String("method", "GET"), slog.String("path", "/cars/4321"),
						slog.Int("status", 200), slog.Int64("bytes", 61), slog.Float64("duration_ms", 0.123), slog.String("remote", "127.0.0.1:54321"),
						slog.String("request_id", "0123456789abcdef0123456789abcdef"))
				}
			})
		})
	}
}

// TestLingerGathersLines: lines logged while the writer lingers go out in one write,
// and Flush and Close end the linger (an hour here) rather than wait it out.
func TestLingerGathersLines(t *testing.T) {
	var out syncBuffer
	h := New(&out, text, Options{Linger: time.Hour, Buffer: 1 << 20})
	log := slog.New(h)
	for i := range 1000 {
		log.Info("line", "i", i)
	}
	if err := h.Flush(); err != nil {
		t.Fatal(err)
	}
	out.mu.Lock()
	writes, lines := out.writes, strings.Count(out.b.String(), "\n")
	out.mu.Unlock()
	if lines != 1000 || writes != 1 {
		t.Fatalf("%d lines in %d writes, want 1000 in 1", lines, writes)
	}
	log.Info("after the flush")
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out.String(), "msg=\"after the flush\"\n") {
		t.Fatalf("Close did not write the last line: %q", out.String()[len(out.String())-40:])
	}
}
