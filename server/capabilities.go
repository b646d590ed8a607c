package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/config"
	"github.com/restkit/restkit/httpapi"
)

// Capability switches (DESIGN §13) are declared in the config and flipped at run time
// by PUT /_admin/capabilities/{name}. Their states live in the store, under the
// server-state name below, so that they survive a restart and reach every node of a
// shared store: a node applies what it finds there when it builds a handler (New,
// Reload), and, with a shared store, polls it every capabilityPoll. The document
// also keeps the last auditKeep flips, newest first: who switched what, and when.

const (
	capabilitiesState = "capabilities"
	capabilityPoll    = 500 * time.Millisecond // "shared across nodes within 1 s"
	auditKeep         = 100
)

// capabilityDoc is the stored document.
type capabilityDoc struct {
	States map[string]switchState `json:"states"`
	Audit  []capabilityFlip       `json:"audit,omitempty"`
}

// switchState is one capability's stored state: set by an operator, it beats the
// declared default. It outlives its declaration: a capability removed from the config
// and declared again later comes back in the state it was last switched to.
type switchState struct {
	Enabled bool      `json:"enabled"`
	Changed time.Time `json:"changed"`
	By      string    `json:"by"`
}

// capabilityFlip is one audited change.
type capabilityFlip struct {
	Name    string    `json:"name"`
	Enabled bool      `json:"enabled"`
	At      time.Time `json:"at"`
	By      string    `json:"by"`
}

func (s *Server) readCapabilities(ctx context.Context) (*capabilityDoc, error) {
	st, ok := s.backends.store.(restkit.StateStore)
	if !ok {
		return &capabilityDoc{}, nil
	}
	raw, err := st.ReadState(ctx, capabilitiesState)
	if err != nil {
		return nil, fmt.Errorf("reading the capability switches: %w", err)
	}
	return decodeCapabilities(raw)
}

func decodeCapabilities(raw []byte) (*capabilityDoc, error) {
	doc := &capabilityDoc{}
	if len(raw) == 0 {
		return doc, nil
	}
	if err := json.Unmarshal(raw, doc); err != nil {
		return nil, fmt.Errorf("the stored capability switches are not readable: %w", err)
	}
	return doc, nil
}

// states are the stored on/off values, by name.
func (d *capabilityDoc) states() map[string]bool {
	m := make(map[string]bool, len(d.States))
	for name, st := range d.States {
		m[name] = st.Enabled
	}
	return m
}

// loadCapabilities applies the stored states to schema and reports whether any
// differed from what schema had.
func (s *Server) loadCapabilities(ctx context.Context, schema *restkit.Schema) (bool, error) {
	doc, err := s.readCapabilities(ctx)
	if err != nil {
		return false, err
	}
	return schema.Switch(doc.states()), nil
}

// followCapabilities polls the stored states while ctx lasts, with a shared store,
// so that a switch flipped on another node applies here within capabilityPoll. It
// returns a function that stops the polling and waits for it.
func (s *Server) followCapabilities(ctx context.Context) func() {
	if !s.backends.shared {
		return func() {} // one node: every flip goes through this process
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(capabilityPoll)
		defer tick.Stop()
		failing := false
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			// A reload or a flip under way applies the stored states itself.
			if !s.reloadMu.TryLock() {
				continue
			}
			// Bounded: a store that hangs must not hold reloads and flips waiting.
			rctx, cancel := context.WithTimeout(ctx, 5*capabilityPoll)
			schema := s.current().api.Schema
			changed, err := s.loadCapabilities(rctx, schema)
			cancel()
			s.reloadMu.Unlock()
			switch {
			case err != nil && ctx.Err() == nil:
				if !failing { // once per outage, not twice a second
					s.log.Warn("capability switches: the store cannot be read; keeping the states in force", "error", err.Error())
				}
				failing = true
			case err == nil:
				failing = false
				if changed {
					s.log.Info("capability switches changed on another node", "states", schema.States())
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// capabilityView is one capability as the admin routes show it.
type capabilityView struct {
	Name        string           `json:"name"`
	Description string           `json:"description,omitempty"`
	Enabled     bool             `json:"enabled"`
	Default     bool             `json:"default"`
	Changed     *time.Time       `json:"changed,omitempty"`
	By          string           `json:"by,omitempty"`
	UsedBy      []string         `json:"used_by"`
	History     []capabilityFlip `json:"history,omitempty"`
}

func capabilityViewOf(c *restkit.Capability, doc *capabilityDoc, api *config.Config, history bool) capabilityView {
	v := capabilityView{Name: c.Name, Description: c.Description, Enabled: api.Schema.Enabled(c.Name), Default: c.Enabled,
		UsedBy: usedBy(api, c.Name)}
	if st, ok := doc.States[c.Name]; ok {
		v.Changed, v.By = &st.Changed, st.By
	}
	if history {
		for _, f := range doc.Audit {
			if f.Name == c.Name {
				v.History = append(v.History, f)
			}
		}
	}
	return v
}

// usedBy names what c is attached to: APIs, resources, nouns, verbs, the artefact
// repository — what an operator switches along with it.
func usedBy(api *config.Config, name string) []string {
	out := []string{}
	if name == restkit.ReadOnly {
		return append(out, "every write")
	}
	if api.Artefacts != nil && api.Artefacts.Capability == name {
		out = append(out, "artefacts "+api.Artefacts.Path)
	}
	for _, a := range api.Schema.APIs {
		if a.Capability == name {
			out = append(out, "api "+a.Base+"/")
		}
		for _, r := range a.Resources {
			if r.Capability == name {
				out = append(out, "resource "+a.ListPath(r))
			}
			for verb, c := range r.VerbCapabilities {
				switch {
				case c != name:
				case strings.HasPrefix(verb, "item "):
					out = append(out, strings.TrimPrefix(verb, "item ")+" "+a.ItemsPath(r)+"/{"+r.Key+"}")
				default:
					out = append(out, verb+" "+a.ListPath(r))
				}
			}
		}
		for _, n := range a.Nouns {
			if n.Capability == name {
				out = append(out, "noun "+a.Base+"/"+n.Name)
			}
		}
	}
	slices.Sort(out)
	return out
}

// capabilityRoutes are the admin routes of the switches of the served config.
func (s *Server) capabilityRoutes() []httpapi.AdminRoute {
	return []httpapi.AdminRoute{
		{Pattern: "/_admin/capabilities", Allow: "GET, HEAD, OPTIONS", Serve: s.serveCapabilities},
		{Pattern: "/_admin/capabilities/{name}", Allow: "GET, HEAD, PUT, OPTIONS", Serve: s.serveCapability},
	}
}

// serveCapabilities answers GET /_admin/capabilities: every declared switch, its
// state, its default and what it is attached to, and the latest flips.
func (s *Server) serveCapabilities(w http.ResponseWriter, r *http.Request) error {
	api := s.current().api
	doc, err := s.readCapabilities(r.Context())
	if err != nil {
		return err
	}
	list := make([]capabilityView, 0, len(api.Schema.Capabilities))
	for _, c := range api.Schema.Capabilities {
		list = append(list, capabilityViewOf(c, doc, api, false))
	}
	audit := doc.Audit
	if audit == nil {
		audit = []capabilityFlip{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"capabilities": list, "audit": audit})
	return nil
}

// serveCapability answers GET and PUT /_admin/capabilities/{name}. PUT takes
// {"enabled": true|false}; it stores the state (so a restart and every node agree),
// applies it here at once, and logs who flipped it.
func (s *Server) serveCapability(w http.ResponseWriter, r *http.Request) error {
	api := s.current().api
	schema := api.Schema
	name := r.PathValue("name")
	c := schema.Capability(name)
	if c == nil {
		return restkit.Errorf(restkit.NotFound, "no capability %q: GET /_admin/capabilities lists them", name)
	}
	if r.Method == http.MethodPut {
		enabled, err := readSwitch(r)
		if err != nil {
			return err
		}
		if err := s.flip(r.Context(), name, enabled, httpapi.CallerName(r)); err != nil {
			return err
		}
		api = s.current().api // a reload may have finished meanwhile
		if c = api.Schema.Capability(name); c == nil {
			return restkit.Errorf(restkit.NotFound, "no capability %q: a reload removed it", name)
		}
	}
	doc, err := s.readCapabilities(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, capabilityViewOf(c, doc, api, true))
	return nil
}

// readSwitch reads PUT's body, {"enabled": BOOL} and nothing else, with the strict
// parser every request body gets (duplicate or differently-cased names, data after
// the object and more than 1 KiB are refused).
func readSwitch(r *http.Request) (bool, error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return false, restkit.Errorf(restkit.UnsupportedMedia, `send {"enabled": true} or {"enabled": false} as application/json`)
	}
	const max = 1 << 10
	data, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return false, restkit.Errorf(restkit.Invalid, "reading the body: %v", err)
	}
	if len(data) > max {
		return false, restkit.Errorf(restkit.TooLarge, `the body is over %d bytes: send {"enabled": true} or {"enabled": false}`, max)
	}
	obj, err := restkit.ParseObject(data, restkit.Limits{MaxBytes: max, MaxMembers: 1, MaxDepth: 1, Flat: true})
	if err != nil {
		return false, err
	}
	v, ok := obj["enabled"].(bool)
	if len(obj) != 1 || !ok {
		return false, restkit.Errorf(restkit.Invalid, `the body must be {"enabled": true} or {"enabled": false}`)
	}
	return v, nil
}

// flip stores name's new state with its audit entry and applies every stored state
// to the served schema. Flips, reloads and the poll of followCapabilities take
// reloadMu, so that on this node the states are applied in the order they were
// stored, and always to the schema being served: a flip that raced a reload could
// otherwise land on the schema the reload was replacing, and a flip that raced
// another could be undone by the other's older document.
func (s *Server) flip(ctx context.Context, name string, enabled bool, by string) error {
	st, ok := s.backends.store.(restkit.StateStore)
	if !ok {
		return errors.New("capability switches need a store that keeps server state")
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	schema := s.current().api.Schema
	if schema.Capability(name) == nil { // a reload removed it meanwhile
		return restkit.Errorf(restkit.NotFound, "no capability %q: GET /_admin/capabilities lists them", name)
	}
	now := time.Now().UTC()
	var was bool
	raw, err := st.WriteState(ctx, capabilitiesState, func(cur []byte) ([]byte, error) {
		doc, err := decodeCapabilities(cur)
		if err != nil {
			doc = &capabilityDoc{} // unreadable: start again rather than never switch again
		}
		if doc.States == nil {
			doc.States = map[string]switchState{}
		}
		was = schema.Enabled(name)
		if prev, ok := doc.States[name]; ok {
			was = prev.Enabled
		}
		doc.States[name] = switchState{Enabled: enabled, Changed: now, By: by}
		doc.Audit = append([]capabilityFlip{{Name: name, Enabled: enabled, At: now, By: by}}, doc.Audit...)
		if len(doc.Audit) > auditKeep {
			doc.Audit = doc.Audit[:auditKeep]
		}
		return json.Marshal(doc)
	})
	if err != nil {
		return fmt.Errorf("storing the capability switch: %w", err)
	}
	doc, err := decodeCapabilities(raw)
	if err != nil {
		return err
	}
	schema.Switch(doc.states())
	s.log.Info("capability switched", "capability", name, "enabled", enabled, "was", was, "by", by)
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	body = append(body, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
