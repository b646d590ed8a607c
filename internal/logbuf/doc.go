// Package logbuf is a slog.Handler that takes the formatting and the writing of log
// records off the caller's goroutine: the request log writes one line per request,
// and formatting it and a write system call per line were a measurable part of a
// small request's cost (issue 17).
//
// Handle clones the record and queues it; one goroutine formats the queued records
// with the wrapped handler into a buffer. After the first record of a batch it waits
// a moment (Options.Linger, 5 ms) for others, then writes the buffer out once the
// queue runs dry, or sooner when the buffer fills. Under load dozens of lines go out
// in one write; an idle server's line is written within the linger, so nothing stays
// in memory for long.
//
// The queue is bounded (Options.Queue records): when it is full, Handle waits for
// room rather than drop a line, so memory stays bounded and the log complete, at the
// price of the caller waiting as long as the destination is slower than the lines.
// Flush returns once every record handled before it is written; Close flushes and
// stops the goroutine, after which Handle writes through the wrapped handler
// directly (late lines of a shutdown are not lost). A server calls Close when it has
// drained its requests, before it exits.
//
//	buf := logbuf.New(os.Stderr, func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) }, logbuf.Options{})
//	defer buf.Close()
//	log := slog.New(buf)
//
// Records keep their order: one goroutine formats them, in the order Handle queued
// them. The wrapped handler is called with a background context (the caller's may be
// gone by then): a handler that reads values from the context must be wrapped outside
// this one, as httpapi's request id is.
package logbuf
