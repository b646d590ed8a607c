// Package goclient_test uses a Go client that oapi-codegen generates from the
// document a demo server serves, as a user of the demo would: it creates, lists with
// paging, reads, patches with If-Match and deletes cars, and pushes and pulls an
// artefact. It proves that the document generates a client that compiles and that
// the typed values it decodes are the server's.
//
// The package democlient does not exist in the repository: e2e's TestGeneratedGoClient
// copies this module to a temporary directory, generates democlient there from the
// served /openapi.json and runs this test with RESTKIT_URL naming that server. This
// module is apart from restkit's so that neither the generator nor the client's
// runtime becomes a dependency of the server.
package goclient_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/restkit/restkit/e2e/testdata/goclient/democlient"
)

func TestDemoClient(t *testing.T) {
	base := os.Getenv("RESTKIT_URL")
	if base == "" {
		t.Skip("RESTKIT_URL is not set: e2e's TestGeneratedGoClient runs this test")
	}
	c, err := democlient.NewClientWithResponses(base)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// Create: one car a request. The body and the answer are a union (one car or an
	// array of them); a single car goes in with FromCar and comes out with AsCar.
	for i, model := range []string{"Golf", "Zoe", "Model 3"} {
		var body democlient.CarOrBatch
		if err := body.FromCar(democlient.Car{Id: i + 1, Model: model, Color: "red", Year: new(2000 + i)}); err != nil {
			t.Fatal(err)
		}
		r, err := c.CreateCarWithResponse(ctx, body)
		if err != nil {
			t.Fatal(err)
		}
		if r.StatusCode() != http.StatusCreated || r.JSON201 == nil {
			t.Fatalf("create %s: %d %s", model, r.StatusCode(), r.Body)
		}
		car, err := r.JSON201.AsCar()
		if err != nil || car.Id != i+1 || car.Model != model || car.Year == nil || *car.Year != 2000+i {
			t.Fatalf("create %s: %+v %v", model, car, err)
		}
		if loc := r.HTTPResponse.Header.Get("Location"); loc != "/cars/"+strconv.Itoa(i+1) {
			t.Errorf("create %s: Location %q", model, loc)
		}
	}

	// List with paging: two a page, the next page through the Link header's cursor.
	first, err := c.ListCarsWithResponse(ctx, &democlient.ListCarsParams{Limit: new(2), Sort: new("id")})
	if err != nil {
		t.Fatal(err)
	}
	if first.StatusCode() != http.StatusOK || first.JSON200 == nil || len(*first.JSON200) != 2 || (*first.JSON200)[1].Model != "Zoe" {
		t.Fatalf("first page: %d %s", first.StatusCode(), first.Body)
	}
	cursor := nextCursor(t, first.HTTPResponse.Header.Get("Link"))
	second, err := c.ListCarsWithResponse(ctx, &democlient.ListCarsParams{Limit: new(2), Sort: new("id"), Cursor: &cursor})
	if err != nil {
		t.Fatal(err)
	}
	if second.StatusCode() != http.StatusOK || second.JSON200 == nil || len(*second.JSON200) != 1 || (*second.JSON200)[0].Model != "Model 3" {
		t.Fatalf("second page: %d %s", second.StatusCode(), second.Body)
	}
	filtered, err := c.ListCarsWithResponse(ctx, &democlient.ListCarsParams{YearGte: new(2001), Count: new(true)})
	if err != nil {
		t.Fatal(err)
	}
	if filtered.JSON200 == nil || len(*filtered.JSON200) != 2 || filtered.HTTPResponse.Header.Get("X-Total-Count") != "2" {
		t.Fatalf("year[gte]=2001&count=true: %d %s", filtered.StatusCode(), filtered.Body)
	}

	// Read: the answer decodes straight into Car.
	got, err := c.GetCarWithResponse(ctx, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.StatusCode() != http.StatusOK || got.JSON200 == nil || got.JSON200.Model != "Zoe" || got.JSON200.Color != "red" {
		t.Fatalf("get 2: %d %s", got.StatusCode(), got.Body)
	}
	etag := got.HTTPResponse.Header.Get("ETag")

	// Patch with If-Match: the current ETag changes the car, the same one again is
	// stale and gets 412 with a problem body.
	patch := democlient.CarPatch{Color: new("blue")}
	patched, err := c.UpdateCarWithApplicationMergePatchPlusJSONBodyWithResponse(ctx, 2, &democlient.UpdateCarParams{IfMatch: &etag}, patch)
	if err != nil {
		t.Fatal(err)
	}
	if patched.StatusCode() != http.StatusOK || patched.JSON200 == nil || patched.JSON200.Color != "blue" || patched.JSON200.Model != "Zoe" {
		t.Fatalf("patch 2: %d %s", patched.StatusCode(), patched.Body)
	}
	stale, err := c.UpdateCarWithApplicationMergePatchPlusJSONBodyWithResponse(ctx, 2, &democlient.UpdateCarParams{IfMatch: &etag}, patch)
	if err != nil {
		t.Fatal(err)
	}
	if stale.StatusCode() != http.StatusPreconditionFailed || stale.ApplicationproblemJSON412 == nil || stale.ApplicationproblemJSON412.Status != 412 {
		t.Fatalf("patch 2 with a stale ETag: %d %s", stale.StatusCode(), stale.Body)
	}

	// Delete with If-Match, then the car is gone: 404 with a problem body.
	current := patched.HTTPResponse.Header.Get("ETag")
	deleted, err := c.DeleteCarWithResponse(ctx, 2, &democlient.DeleteCarParams{IfMatch: &current})
	if err != nil {
		t.Fatal(err)
	}
	if deleted.StatusCode() != http.StatusNoContent {
		t.Fatalf("delete 2: %d %s", deleted.StatusCode(), deleted.Body)
	}
	gone, err := c.GetCarWithResponse(ctx, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if gone.StatusCode() != http.StatusNotFound || gone.ApplicationproblemJSON404 == nil || gone.ApplicationproblemJSON404.Status != 404 {
		t.Fatalf("get 2 after the delete: %d %s", gone.StatusCode(), gone.Body)
	}

	// Push an artefact with its checksum, pull it back, list its versions.
	content := []byte("restkit artefact, pushed by a generated client\n")
	sum := sha256.Sum256(content)
	digest := hex.EncodeToString(sum[:])
	pushed, err := c.PutArtefactWithBodyWithResponse(ctx, "releases", "app.txt",
		&democlient.PutArtefactParams{XChecksumSha256: &digest}, "application/octet-stream", bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	if pushed.StatusCode() != http.StatusCreated || pushed.JSON201 == nil || pushed.JSON201.Sha256 != digest ||
		pushed.JSON201.Version != 1 || pushed.JSON201.Size != len(content) || pushed.JSON201.Directory != "releases" {
		t.Fatalf("push: %d %s", pushed.StatusCode(), pushed.Body)
	}
	pulled, err := c.DownloadArtefactWithResponse(ctx, "releases", "app.txt", nil)
	if err != nil {
		t.Fatal(err)
	}
	if pulled.StatusCode() != http.StatusOK || !bytes.Equal(pulled.Body, content) || pulled.HTTPResponse.Header.Get("ETag") != `"`+digest+`"` {
		t.Fatalf("pull: %d %q ETag %s", pulled.StatusCode(), pulled.Body, pulled.HTTPResponse.Header.Get("ETag"))
	}
	versions, err := c.ListArtefactVersionsWithResponse(ctx, "releases", "app.txt")
	if err != nil {
		t.Fatal(err)
	}
	if versions.JSON200 == nil || len(*versions.JSON200) != 1 || (*versions.JSON200)[0].Sha256 != digest {
		t.Fatalf("versions: %d %s", versions.StatusCode(), versions.Body)
	}
}

var nextLink = regexp.MustCompile(`<([^>]*)>;\s*rel="next"`)

// nextCursor is the cursor of the rel="next" link of an RFC 8288 Link header.
func nextCursor(t *testing.T, link string) string {
	t.Helper()
	m := nextLink.FindStringSubmatch(link)
	if m == nil {
		t.Fatalf("no next link in %q", link)
	}
	u, err := url.Parse(m[1])
	if err != nil {
		t.Fatal(err)
	}
	cursor := u.Query().Get("cursor")
	if cursor == "" {
		t.Fatalf("no cursor in the next link %q", m[1])
	}
	return cursor
}
