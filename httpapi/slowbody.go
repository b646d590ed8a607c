package httpapi

import (
	"errors"
	"io"
	"net/http"
	"os"
	"time"
)

// errSlowBody is the read error of a request body that fell below the minimum rate; a
// handler that fails with it answers 408.
var errSlowBody = errors.New("the request body arrived too slowly")

// slowBodies cuts off clients that send a request body too slowly: after grace, the
// body must have arrived at rate bytes per second on average since the request began.
// The connection's read deadline is moved on as bytes arrive, so a stalled client
// (a slowloris on the body, a dead upload) ends in a read error within the allowance
// instead of holding a connection, a goroutine and a staged blob forever.
func (s *Server) slowBodies(next http.Handler) http.Handler {
	if s.minRate <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
			r.Body = &minRateBody{ReadCloser: r.Body, rc: http.NewResponseController(w),
				start: time.Now(), grace: s.bodyGrace, rate: s.minRate}
		}
		next.ServeHTTP(w, r)
	})
}

type minRateBody struct {
	io.ReadCloser
	rc       *http.ResponseController
	start    time.Time
	grace    time.Duration
	rate     int64 // bytes per second
	read     int64
	deadline time.Time
	noLimit  bool // the connection cannot take a read deadline
	slow     bool
}

func (b *minRateBody) Read(p []byte) (int, error) {
	if b.slow {
		return 0, errSlowBody
	}
	// By the deadline the body must average rate since start, counting what has arrived.
	allowed := max(b.grace, time.Duration(float64(b.read)/float64(b.rate)*float64(time.Second)))
	if d := b.start.Add(allowed); !b.noLimit && !d.Equal(b.deadline) {
		if err := b.rc.SetReadDeadline(d); err != nil {
			b.noLimit = true
		} else {
			b.deadline = d
		}
	}
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		b.slow = true
		return n, errSlowBody
	}
	return n, err
}

// slowBody reports whether r's body was cut off for its rate. The read error may not
// reach the handler as errSlowBody: net/http cancels the request's context when the
// connection's read fails, and a store that watches the context reports that instead.
func slowBody(r *http.Request) bool {
	b, ok := r.Body.(*minRateBody)
	return ok && b.slow
}
