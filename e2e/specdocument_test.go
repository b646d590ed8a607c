package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	"github.com/pb33f/libopenapi-validator/schema_validation"
)

// TestServedDocumentIsValidOAS31 validates the document each example config serves at
// /openapi.json against the OpenAPI 3.1 schema (the JSON Schema of the specification
// itself, which libopenapi-validator embeds). Validating responses against the
// document (specvalidate_test.go) does not check this: the response validator reads
// only the parts of a document it needs and ignores fields the specification does not
// allow, such as a description on a Media Type Object.
func TestServedDocumentIsValidOAS31(t *testing.T) {
	for _, tc := range exampleConfigs {
		t.Run(tc.name, func(t *testing.T) {
			body := servedDocument(t, tc.config, tc.auth)
			doc, err := libopenapi.NewDocument(body)
			if err != nil {
				t.Fatalf("parsing the document: %v", err)
			}
			if v := doc.GetVersion(); v != "3.1.0" {
				t.Fatalf("openapi %q, want 3.1.0", v)
			}
			if ok, errs := schema_validation.ValidateOpenAPIDocument(doc); !ok {
				// The schema validator's own report names each offending location
				// (".../multipart~1form-data/description: false schema").
				var msg strings.Builder
				seen := map[string]bool{}
				for _, e := range errs {
					fmt.Fprintf(&msg, "\n%s: %s", e.Message, e.Reason)
					for _, se := range e.SchemaValidationErrors {
						detail := se.FieldPath + ": " + se.Reason
						if se.OriginalJsonSchemaError != nil {
							detail = se.OriginalJsonSchemaError.Error()
						}
						if !seen[detail] {
							seen[detail] = true
							fmt.Fprintf(&msg, "\n%s", detail)
						}
					}
				}
				t.Fatalf("the served document is not valid OpenAPI 3.1:%s", msg.String())
			}
		})
	}
}

// TestHeaderLimitIsDocumented: net/http refuses a request whose headers exceed the
// server's 64 KiB with 431 before any handler runs, on every route. The document
// lists that answer on every operation, so the contract validator of server.do
// accepts it: on /healthz, whose only 4xx it is, and on a resource.
func TestHeaderLimitIsDocumented(t *testing.T) {
	s := startServer(t, "")
	big := strings.Repeat("x", 80<<10)
	for _, path := range []string{"/healthz", "/cars/1"} {
		r := s.do("GET", path, "", "X-Padding", big)
		if r.Status != 431 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("GET %s with 80 KiB of headers: %d %s", path, r.Status, r.Header.Get("Content-Type"))
		}
	}
}
