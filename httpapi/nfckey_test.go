package httpapi_test

import (
	"net/http"
	"testing"
)

// TestRecordKeysAreNFC (issue 11, finding 6): a string key is put in Unicode NFC
// wherever it comes from — the URL, a body, a bulk create, a filter on the key — like
// artefact names, so "Zoë" written precomposed (Zo%C3%AB) or decomposed (Zoe%CC%88)
// is one record with one Location.
func TestRecordKeysAreNFC(t *testing.T) {
	const (
		nfc    = "Zo\u00eb"  // ë as one code point
		nfd    = "Zoe\u0308" // e and a combining diaeresis
		nfcURL = "Zo%C3%AB"
		nfdURL = "Zoe%CC%88"
	)
	h := demoServer(t, nil)
	// /v1/people: the key comes from the URL and PUT creates.
	r := mustServe(t, h, http.StatusCreated, "PUT", "/v1/people/"+nfdURL, `{"email":"z@example.com"}`)
	if loc := r.header.Get("Location"); loc != "/v1/people/"+nfcURL {
		t.Fatalf("Location %q, want /v1/people/%s", loc, nfcURL)
	}
	want := `{"status":"ok","result":{"comment":null,"name":"` + nfc + `","email":"z@example.com"}}` + "\n"
	if r.body != want {
		t.Fatalf("created %s, want %s", r.body, want)
	}
	mustServe(t, h, http.StatusOK, "PUT", "/v1/people/"+nfcURL, `{"email":"z@example.com","comment":"same one"}`)
	mustServe(t, h, http.StatusOK, "PATCH", "/v1/people/"+nfdURL, `{"name":"`+nfd+`","comment":"decomposed in the body too"}`)
	mustServe(t, h, http.StatusOK, "PATCH", "/v1/people/"+nfcURL, `{"name":"`+nfd+`"}`)
	if r := mustServe(t, h, http.StatusOK, "GET", "/v1/people", ""); r.body != `{"status":"ok","result":[{"comment":"decomposed in the body too","name":"`+nfc+`","email":"z@example.com"}]}`+"\n" {
		t.Fatalf("one record, keyed in NFC: %s", r.body)
	}
	mustServe(t, h, http.StatusNoContent, "DELETE", "/v1/people/"+nfdURL, "")
	mustServe(t, h, http.StatusNotFound, "GET", "/v1/people/"+nfcURL, "")

	// A key from the body: POST, bulk POST, PUT with the key repeated, filters on it.
	h = configServer(t, `
apis:
  - resources:
      tags:
        key: name
        fields:
          name: {type: string, filterable: true}
          note: {type: string}
        collection: [GET, POST]
        item: [GET, PUT, DELETE]
`, nil)
	r = mustServe(t, h, http.StatusCreated, "POST", "/tags", `{"name":"`+nfd+`","note":"a"}`)
	if loc := r.header.Get("Location"); loc != "/tags/"+nfcURL || r.body != `{"name":"`+nfc+`","note":"a"}`+"\n" {
		t.Fatalf("POST: Location %q, body %s", loc, r.body)
	}
	mustServe(t, h, http.StatusConflict, "POST", "/tags", `{"name":"`+nfc+`","note":"b"}`)
	mustServe(t, h, http.StatusConflict, "POST", "/tags", `[{"name":"Ame\u0301lie"},{"name":"`+nfd+`"}]`)
	mustServe(t, h, http.StatusCreated, "POST", "/tags", `[{"name":"Ame\u0301lie"}]`)
	mustServe(t, h, http.StatusOK, "GET", "/tags/Am%C3%A9lie", "")
	mustServe(t, h, http.StatusOK, "PUT", "/tags/"+nfcURL, `{"name":"`+nfd+`","note":"c"}`)
	for _, q := range []string{"name=" + nfdURL, "name[in]=x," + nfdURL, "name[prefix]=" + nfdURL} {
		if r := mustServe(t, h, http.StatusOK, "GET", "/tags?"+q, ""); r.body != `[{"name":"`+nfc+`","note":"c"}]`+"\n" {
			t.Errorf("GET /tags?%s: %s", q, r.body)
		}
	}
}
