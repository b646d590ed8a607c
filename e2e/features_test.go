package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/cucumber/godog"
)

// TestFeatures runs the Gherkin behaviour specs in ../features against the real
// binary. Each scenario talks to its own server on a fresh data directory, started
// by its first request (or by "I have an empty store").
func TestFeatures(t *testing.T) {
	suite := godog.TestSuite{
		Name: "restkit",
		ScenarioInitializer: func(sc *godog.ScenarioContext) {
			w := &world{outer: t}
			w.register(sc)
		},
		Options: &godog.Options{
			Format:   "pretty",
			Paths:    []string{"../features"},
			TestingT: t,
			Strict:   true,
		},
	}
	if suite.Run() != 0 {
		t.Fatal("the behaviour features failed")
	}
}

// world is the state of one scenario.
type world struct {
	outer    *testing.T
	srv      *server
	tb       *featureTB
	base     string            // API base prefixed to paths: "" or "/v1"
	headers  map[string]string // request headers sent with every following request
	last     *response
	lastPath string
}

// featureTB lets startServer, which wants a testing.TB, run inside a step: a fatal
// error becomes a panic that the step turns into its error, and cleanups run when the
// scenario ends.
type featureTB struct {
	testing.TB
	cleanups []func()
	failed   bool
}

type stepFailure struct{ msg string }

func (f *featureTB) Helper()                           {}
func (f *featureTB) Failed() bool                      { return f.failed }
func (f *featureTB) Cleanup(fn func())                 { f.cleanups = append(f.cleanups, fn) }
func (f *featureTB) Fatal(args ...any)                 { f.failed = true; panic(stepFailure{fmt.Sprint(args...)}) }
func (f *featureTB) Fatalf(format string, args ...any) { f.Fatal(fmt.Sprintf(format, args...)) }
func (f *featureTB) Errorf(format string, args ...any) { f.failed = true; f.TB.Logf(format, args...) }

func (f *featureTB) cleanup() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
	f.cleanups = nil
}

// stop ends the scenario's server, if any, and removes its data directory.
func (w *world) stop() {
	if w.srv == nil {
		return
	}
	_ = w.srv.cmd.Process.Kill()
	<-w.srv.done
	if w.tb.failed {
		w.outer.Logf("server log:\n%s", tail(w.srv.logs.String(), 4000))
	}
	os.RemoveAll(w.srv.Data)
	w.tb.cleanup()
	w.srv = nil
}

func (w *world) start() (err error) {
	w.stop()
	dir, err := os.MkdirTemp("", "restkit-feature-")
	if err != nil {
		return err
	}
	w.tb = &featureTB{TB: w.outer}
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(stepFailure)
			if !ok {
				panic(r)
			}
			os.RemoveAll(dir)
			err = fmt.Errorf("starting restkit: %s", f.msg)
		}
	}()
	w.srv = startServer(w.tb, dir)
	return nil
}

func (w *world) register(sc *godog.ScenarioContext) {
	sc.After(func(ctx context.Context, _ *godog.Scenario, err error) (context.Context, error) {
		if w.tb != nil && err != nil {
			w.tb.failed = true
		}
		w.stop()
		return ctx, nil
	})

	sc.Step(`^I am using API "([^"]*)"$`, w.useAPI)
	sc.Step(`^I have an empty store$`, w.start)
	sc.Step(`^I use an Accept header of "([^"]*)"$`, func(v string) error { return w.setHeader("Accept", v) })
	sc.Step(`^I set the header "([^"]*)" to "([^"]*)"$`, w.setHeader)
	sc.Step(`^I send a (GET|HEAD|PUT|POST|PATCH|DELETE|OPTIONS) request to "([^"]*)"$`, func(method, path string) error {
		return w.send(method, w.base+path, "")
	})
	sc.Step(`^I send a (GET|HEAD|PUT|POST|PATCH|DELETE|OPTIONS) request to "([^"]*)" with body:$`, func(method, path string, body *godog.DocString) error {
		return w.send(method, w.base+path, body.Content)
	})
	sc.Step(`^I upload "([^"]*)" as "([^"]*)"$`, w.upload)
	sc.Step(`^I follow the "([^"]*)" link$`, w.followLink)
	sc.Step(`^the response status should be (\d+)$`, w.statusShouldBe)
	sc.Step(`^the JSON at path "([^"]*)" should be (.+)$`, w.jsonAtPathShouldBe)
	sc.Step(`^the JSON at path "([^"]*)" should have (\d+) items?$`, w.jsonAtPathShouldHaveItems)
	sc.Step(`^the response body should be:$`, w.bodyShouldBe)
	sc.Step(`^the header "([^"]*)" should be "([^"]*)"$`, w.headerShouldBe)
	sc.Step(`^the header "([^"]*)" should exist$`, w.headerShouldExist)
	sc.Step(`^the header "([^"]*)" should not exist$`, w.headerShouldNotExist)
}

func (w *world) useAPI(name string) error {
	switch name {
	case "", "root":
		w.base = ""
	default:
		w.base = "/" + strings.Trim(name, "/")
	}
	return nil
}

func (w *world) setHeader(name, value string) error {
	if w.headers == nil {
		w.headers = map[string]string{}
	}
	w.headers[http.CanonicalHeaderKey(name)] = value
	return nil
}

// send makes one request. A body is sent as application/json unless a Content-Type
// header was set.
func (w *world) send(method, path, body string) error {
	if w.srv == nil {
		if err := w.start(); err != nil {
			return err
		}
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, w.srv.URL+path, rd)
	if err != nil {
		return err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range w.headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: reading the body: %v", method, path, err)
	}
	w.last = &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	w.lastPath = method + " " + path
	if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		return fmt.Errorf("%s: X-Content-Type-Options = %q, want nosniff", w.lastPath, got)
	}
	return w.checkContract(req, resp, b)
}

// checkContract validates the response against the server's /openapi.json, as
// server.do does for the other end-to-end tests: a scenario whose response the
// document does not describe fails at that step.
func (w *world) checkContract(req *http.Request, resp *http.Response, body []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(stepFailure)
			if !ok {
				panic(r)
			}
			err = errors.New(f.msg)
		}
	}()
	w.srv.checkContract(req, resp.StatusCode, resp.Header, body)
	return nil
}

// upload PUTs text as the raw bytes of the artefact DIR/ID.
func (w *world) upload(content, target string) error {
	if _, ok := w.headers["Content-Type"]; !ok {
		if err := w.setHeader("Content-Type", "text/plain; charset=utf-8"); err != nil {
			return err
		}
	}
	return w.send("PUT", "/artefacts/"+target, content)
}

func (w *world) followLink(rel string) error {
	if w.last == nil {
		return fmt.Errorf("no response yet")
	}
	target, ok := parseLinks(w.last.Header.Get("Link"))[rel]
	if !ok {
		return fmt.Errorf("%s: no %q link in Link: %q", w.lastPath, rel, w.last.Header.Get("Link"))
	}
	return w.send("GET", target, "")
}

func (w *world) response() (*response, error) {
	if w.last == nil {
		return nil, fmt.Errorf("no request was sent")
	}
	return w.last, nil
}

func (w *world) statusShouldBe(want int) error {
	r, err := w.response()
	if err != nil {
		return err
	}
	if r.Status != want {
		return fmt.Errorf("%s: status %d, want %d\nbody: %s", w.lastPath, r.Status, want, r.Body)
	}
	return nil
}

var pathToken = regexp.MustCompile(`^(?:\.?([^.\[\]]+)|\[(\d+)\])`)

// lookup follows a simple path (result.name, errors[0].field, [1].id) into v; the
// empty path is v itself.
func lookup(v any, path string) (any, error) {
	rest := path
	for rest != "" {
		m := pathToken.FindStringSubmatch(rest)
		if m == nil {
			return nil, fmt.Errorf("bad path %q at %q", path, rest)
		}
		rest = rest[len(m[0]):]
		if m[1] != "" {
			obj, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("path %q: %q is taken from something that is not an object", path, m[1])
			}
			if v, ok = obj[m[1]]; !ok {
				return nil, fmt.Errorf("path %q: no key %q", path, m[1])
			}
			continue
		}
		i, _ := strconv.Atoi(m[2])
		arr, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("path %q: [%d] is taken from something that is not an array", path, i)
		}
		if i >= len(arr) {
			return nil, fmt.Errorf("path %q: index %d, but the array has %d items", path, i, len(arr))
		}
		v = arr[i]
	}
	return v, nil
}

func (w *world) jsonAt(path string) (any, error) {
	r, err := w.response()
	if err != nil {
		return nil, err
	}
	var body any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		return nil, fmt.Errorf("%s: the body is not JSON: %v\n%s", w.lastPath, err, r.Body)
	}
	v, err := lookup(body, path)
	if err != nil {
		return nil, fmt.Errorf("%s: %v\nbody: %s", w.lastPath, err, r.Body)
	}
	return v, nil
}

func (w *world) jsonAtPathShouldBe(path, expected string) error {
	var want any
	if err := json.Unmarshal([]byte(expected), &want); err != nil {
		return fmt.Errorf("the expected value %s is not JSON: %v", expected, err)
	}
	got, err := w.jsonAt(path)
	if err != nil {
		return err
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		return fmt.Errorf("%s: JSON at %q is %s, want %s\nbody: %s", w.lastPath, path, g, expected, w.last.Body)
	}
	return nil
}

func (w *world) jsonAtPathShouldHaveItems(path string, n int) error {
	got, err := w.jsonAt(path)
	if err != nil {
		return err
	}
	arr, ok := got.([]any)
	if !ok {
		return fmt.Errorf("%s: JSON at %q is not an array\nbody: %s", w.lastPath, path, w.last.Body)
	}
	if len(arr) != n {
		return fmt.Errorf("%s: JSON at %q has %d items, want %d\nbody: %s", w.lastPath, path, len(arr), n, w.last.Body)
	}
	return nil
}

// bodyShouldBe compares JSON ignoring key order and whitespace when the expectation
// is JSON, and the exact bytes otherwise.
func (w *world) bodyShouldBe(doc *godog.DocString) error {
	r, err := w.response()
	if err != nil {
		return err
	}
	var want any
	if json.Unmarshal([]byte(doc.Content), &want) != nil {
		if !bytes.Equal(r.Body, []byte(doc.Content)) {
			return fmt.Errorf("%s: body\n%q\nwant\n%q", w.lastPath, r.Body, doc.Content)
		}
		return nil
	}
	var got any
	if err := json.Unmarshal(r.Body, &got); err != nil {
		return fmt.Errorf("%s: the body is not JSON: %v\n%s", w.lastPath, err, r.Body)
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("%s: body\n%s\nwant\n%s", w.lastPath, r.Body, doc.Content)
	}
	return nil
}

func (w *world) headerShouldBe(name, want string) error {
	r, err := w.response()
	if err != nil {
		return err
	}
	if got := r.Header.Get(name); got != want || len(r.Header.Values(name)) == 0 {
		return fmt.Errorf("%s: header %s = %q, want %q", w.lastPath, name, got, want)
	}
	return nil
}

func (w *world) headerShouldExist(name string) error {
	r, err := w.response()
	if err != nil {
		return err
	}
	if len(r.Header.Values(name)) == 0 {
		return fmt.Errorf("%s: no %s header", w.lastPath, name)
	}
	return nil
}

func (w *world) headerShouldNotExist(name string) error {
	r, err := w.response()
	if err != nil {
		return err
	}
	if len(r.Header.Values(name)) != 0 {
		return fmt.Errorf("%s: header %s = %q, want none", w.lastPath, name, r.Header.Get(name))
	}
	return nil
}
