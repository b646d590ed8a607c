package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/restkit/restkit"
)

// Entry is an entry of a directory listing: a subdirectory (Dir, its whole path) or
// an artefact's latest version.
type Entry struct {
	Dir      string
	Artefact *restkit.Artefact
}

// ListEntries returns every entry of dir: its subdirectories, then its artefacts,
// following the paging links (o as for List).
//
// Errors: NotFound (no such directory), Invalid (a bad option), or a transport error.
func (c *Client) ListEntries(ctx context.Context, dir string, o ListOptions) ([]Entry, error) {
	p, err := artefactPath(dir, "", false)
	if err != nil {
		return nil, err
	}
	var out []Entry
	_, err = c.pages(ctx, withQuery(p, o.query()), dir, true, func(dec *json.Decoder) error {
		var page []struct {
			Type string `json:"type"`
			Path string `json:"path"`
			ArtefactJSON
		}
		if err := dec.Decode(&page); err != nil {
			return err
		}
		for i := range page {
			if page[i].Type == "directory" {
				out = append(out, Entry{Dir: page[i].Path})
			} else {
				out = append(out, Entry{Artefact: page[i].Artefact()})
			}
		}
		return nil
	})
	return out, err
}

// propertiesJSON is the answer of …/properties.
type propertiesJSON struct {
	Directory  string            `json:"directory"`
	ID         string            `json:"id"`
	Version    int64             `json:"version"`
	Properties map[string]string `json:"properties"`
}

// SetProperties replaces the properties of version (0: the latest) of dir/id and
// returns the version with them.
//
// Errors: NotFound, Invalid (too many, too long, bad keys), or a transport error.
func (c *Client) SetProperties(ctx context.Context, dir, id string, version int64, props map[string]string) (*restkit.Artefact, error) {
	p, err := artefactPath(dir, id, true)
	if err != nil {
		return nil, err
	}
	var j propertiesJSON
	if err := c.JSON(ctx, http.MethodPut, withVersion(p+"/properties", version), props, &j); err != nil {
		return nil, err
	}
	return &restkit.Artefact{Directory: j.Directory, ID: j.ID, Version: j.Version, Properties: j.Properties}, nil
}

// Properties returns the properties of version (0: the latest) of dir/id.
func (c *Client) Properties(ctx context.Context, dir, id string, version int64) (map[string]string, error) {
	p, err := artefactPath(dir, id, true)
	if err != nil {
		return nil, err
	}
	var j propertiesJSON
	if err := c.JSON(ctx, http.MethodGet, withVersion(p+"/properties", version), nil, &j); err != nil {
		return nil, err
	}
	return j.Properties, nil
}

// FindByProperties returns every version, in any directory the caller may read,
// holding every pair of match, following the paging links.
func (c *Client) FindByProperties(ctx context.Context, match map[string]string) ([]*restkit.Artefact, error) {
	q := url.Values{}
	for k, v := range match {
		q.Set("prop."+k, v)
	}
	var out []*restkit.Artefact
	_, err := c.pages(ctx, withQuery("/artefacts", q), "", true, func(dec *json.Decoder) error {
		return decodeArtefacts(dec, &out)
	})
	return out, err
}

// CleanupReport is what a run of the cleanup policies deleted, or would delete.
type CleanupReport struct {
	DryRun     bool           `json:"dry_run"`
	Skipped    bool           `json:"skipped"`
	Versions   []ArtefactJSON `json:"versions"`
	Count      int            `json:"count"`
	BytesFreed int64          `json:"bytes_freed"`
}

// Cleanup runs the server's artefact cleanup policies now (dry: reports only).
//
// Errors: Forbidden (not an administrator), or a transport error.
func (c *Client) Cleanup(ctx context.Context, dry bool) (*CleanupReport, error) {
	var rep CleanupReport
	if err := c.JSON(ctx, http.MethodPost, "/_admin/cleanup?dry_run="+strconv.FormatBool(dry), nil, &rep); err != nil {
		return nil, err
	}
	return &rep, nil
}
