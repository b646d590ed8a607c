package restkit

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"
)

// Hooks are Go functions that a program embedding restkit runs around the writes of
// one resource (Resource.Hooks; DESIGN §12). The before-hooks run inside the write's
// transaction, after the request was validated and its preconditions held, with the
// record as it is at that instant: a hook may change the record about to be stored,
// or refuse the write by returning an error — a *Error gives the client its status
// and message (Invalid: 400, Conflict: 409…), any other error is a 500. AfterCommit
// runs once the write has committed, with what changed.
//
// A hook that panics or does not return within Timeout fails its request with a 500
// and is logged with its stack; the server goes on. A hook that times out keeps
// running on its goroutine (Go cannot stop it), but what it does to its arguments
// is ignored: they are copies. Hooks run for writes through the HTTP API; records a
// cascade deletes or clears (on_delete) are written by the store and run none.
type Hooks struct {
	// BeforeCreate runs before a new record is stored. It may change rec.Values.
	BeforeCreate func(ctx context.Context, rec *Record) error
	// BeforeUpdate runs before a record is replaced (PUT, PATCH). It may change
	// next.Values; cur is the record as stored.
	BeforeUpdate func(ctx context.Context, cur, next *Record) error
	// BeforeDelete runs before a record is deleted.
	BeforeDelete func(ctx context.Context, cur *Record) error
	// AfterCommit runs after a create, update or delete committed. An error (or a
	// panic, or a timeout) answers 500 saying that the write did commit.
	AfterCommit func(ctx context.Context, c Commit) error
	// Timeout bounds each call of a hook; 0 is DefaultHookTimeout.
	Timeout time.Duration
}

// DefaultHookTimeout bounds a hook whose Hooks.Timeout is 0.
const DefaultHookTimeout = 10 * time.Second

// Commit is what AfterCommit is told: the write's op, the record's key, and the
// record before (nil for a create) and after it (nil for a delete).
type Commit struct {
	Op            EventOp
	Key           any
	Before, After *Record
}

// Before wraps change with the resource's before-hooks: it runs change, then the
// hook its result calls for — BeforeCreate, BeforeUpdate or BeforeDelete — and
// checks what the hook left. Without hooks it returns change itself.
func (r *Resource) Before(ctx context.Context, change Change) Change {
	h := r.Hooks
	if h == nil || h.BeforeCreate == nil && h.BeforeUpdate == nil && h.BeforeDelete == nil {
		return change
	}
	return func(cur *Record) (*Record, error) {
		var kept *Record
		if cur != nil {
			kept = cur.Clone() // change may alter cur
		}
		next, err := change(cur)
		if err != nil {
			return nil, err
		}
		switch {
		case next == nil && kept != nil && h.BeforeDelete != nil:
			return nil, runHook(ctx, h.Timeout, r.Name+".BeforeDelete", func(ctx context.Context) error {
				return h.BeforeDelete(ctx, kept.Clone())
			})
		case next == nil:
			return nil, nil
		case kept == nil && h.BeforeCreate != nil:
			return r.hooked(ctx, next, "BeforeCreate", func(ctx context.Context, rec *Record) error { return h.BeforeCreate(ctx, rec) })
		case kept != nil && h.BeforeUpdate != nil:
			return r.hooked(ctx, next, "BeforeUpdate", func(ctx context.Context, rec *Record) error { return h.BeforeUpdate(ctx, kept.Clone(), rec) })
		}
		return next, nil
	}
}

// hooked runs a hook on a copy of next and returns the copy as the hook left it,
// checked as a record of r must be.
func (r *Resource) hooked(ctx context.Context, next *Record, name string, hook func(context.Context, *Record) error) (*Record, error) {
	rec := next.Clone()
	if err := runHook(ctx, r.Hooks.Timeout, r.Name+"."+name, func(ctx context.Context) error { return hook(ctx, rec) }); err != nil {
		return nil, err
	}
	if err := r.checkHooked(next, rec, name); err != nil {
		return nil, err
	}
	return rec, nil
}

// checkHooked checks the values a hook left: canonical values of declared fields
// (else Internal: the hook is at fault), the key unchanged (Internal), and the
// fields' constraints and required fields (Invalid, naming them, as if the client
// had sent them: the record must be valid whoever wrote it).
func (r *Resource) checkHooked(before, rec *Record, name string) error {
	var bad []FieldError
	for field, v := range rec.Values {
		f := r.Field(field)
		if f == nil {
			return Wrap("restkit.Hooks", fmt.Errorf("%s.%s set undeclared field %q", r.Name, name, field))
		}
		cv, verr := f.Canonical(v)
		if verr != nil {
			return Wrap("restkit.Hooks", fmt.Errorf("%s.%s set field %q to a %T: %s", r.Name, name, field, v, verr.Message))
		}
		if cv == nil {
			delete(rec.Values, field)
			continue
		}
		rec.Values[field] = cv
		if msg := f.Check(cv); msg != "" {
			bad = append(bad, FieldError{Field: field, Message: msg})
		}
	}
	if !Equal(rec.Values[r.Key], before.Values[r.Key]) {
		return Wrap("restkit.Hooks", fmt.Errorf("%s.%s changed the key", r.Name, name))
	}
	for _, f := range r.Fields {
		if _, ok := rec.Values[f.Name]; f.Required && !ok {
			bad = append(bad, FieldError{Field: f.Name, Message: "is required"})
		}
	}
	if len(bad) > 0 {
		SortFieldErrors(bad)
		return &Error{Kind: Invalid, Message: "validation failed", Fields: bad}
	}
	return nil
}

// After runs the resource's AfterCommit hook, if any, for a committed write.
func (r *Resource) After(ctx context.Context, c Commit) error {
	if r.Hooks == nil || r.Hooks.AfterCommit == nil {
		return nil
	}
	if c.Before != nil {
		c.Before = c.Before.Clone()
	}
	if c.After != nil {
		c.After = c.After.Clone()
	}
	err := runHook(ctx, r.Hooks.Timeout, r.Name+".AfterCommit", func(ctx context.Context) error { return r.Hooks.AfterCommit(ctx, c) })
	if err == nil {
		return nil
	}
	// The write is done: whatever the hook said, no client error can undo it.
	return &Error{Kind: Internal, Op: "restkit.Hooks", Message: ErrAfterCommit.Error(), Err: fmt.Errorf("%w: %w", ErrAfterCommit, err)}
}

// ErrAfterCommit is in the chain of the error After returns: the client may be told
// its write was committed.
var ErrAfterCommit = errors.New("the change was committed, but a hook that runs after it failed")

// runHook runs fn with a deadline on a goroutine of its own, turning a panic or a
// timeout into an Internal error that carries the stack or says so. Errors fn
// returns come back as they are when they are a *Error; others are Internal.
func runHook(ctx context.Context, timeout time.Duration, name string, fn func(context.Context) error) error {
	if timeout <= 0 {
		timeout = DefaultHookTimeout
	}
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- Wrap("restkit.Hooks", fmt.Errorf("hook %s panicked: %v\n%s", name, p, debug.Stack()))
			}
		}()
		done <- fn(hctx)
	}()
	select {
	case err := <-done:
		if err == nil {
			return nil
		}
		if e, ok := err.(*Error); ok {
			return e
		}
		return Wrap("restkit.Hooks", fmt.Errorf("hook %s: %w", name, err))
	case <-hctx.Done():
		return Wrap("restkit.Hooks", fmt.Errorf("hook %s did not return within %s", name, timeout))
	}
}
