package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/restkit/restkit"
)

func TestDeprecated(t *testing.T) {
	c, err := Parse("t.yaml", []byte(`apis:
  - base: /v1
    deprecated: {sunset: 2027-06-30, successor: /v2}
    resources:
      cars:
        key: id
        fields:
          id: {type: integer}
      vans:
        key: id
        deprecated: {since: "2026-01-01T12:00:00+02:00", successor: "https://api.example/v2/vans"}
        fields:
          id: {type: integer}
  - base: /v2
    resources:
      cars:
        key: id
        deprecated: true
        fields:
          id: {type: integer}
          title: {type: string, renamed_from: name}
`))
	if err != nil {
		t.Fatal(err)
	}
	v1, v2 := c.Schema.APIs[0], c.Schema.APIs[1]
	want := &restkit.Deprecation{Sunset: time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC), Successor: "/v2"}
	if !reflect.DeepEqual(v1.Deprecated, want) || v1.DeprecationOf(v1.Resources[0]) != v1.Deprecated {
		t.Errorf("API deprecation = %+v, want %+v, inherited by cars", v1.Deprecated, want)
	}
	vans := v1.DeprecationOf(v1.Resources[1])
	if !vans.Since.Equal(time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)) || vans.Successor != "https://api.example/v2/vans" || !vans.Sunset.IsZero() {
		t.Errorf("vans deprecation = %+v", vans)
	}
	if v2.Deprecated != nil || !reflect.DeepEqual(v2.Resources[0].Deprecated, &restkit.Deprecation{}) {
		t.Errorf("deprecated: true = %+v (API %+v)", v2.Resources[0].Deprecated, v2.Deprecated)
	}
	if got := v2.Resources[0].Field("title").RenamedFrom; got != "name" {
		t.Errorf("renamed_from = %q", got)
	}
	if got := want.Header() + " | " + want.SunsetHeader() + " | " + want.LinkHeader(); got != `@0 | Wed, 30 Jun 2027 00:00:00 GMT | </v2>; rel="successor-version"` {
		t.Errorf("headers = %s", got)
	}
	if got := vans.Header(); got != "@1767261600" {
		t.Errorf("Deprecation of vans = %s", got)
	}
}

func TestDeprecatedAndRenamedErrors(t *testing.T) {
	const cars = `apis:
  - resources:
      cars:
        key: id
        fields:
          id: {type: integer}
`
	for _, tc := range []struct {
		name, src string
		want      []string
	}{
		{"sunset not a date", cars + "        deprecated: {sunset: 30/06/2027}\n",
			[]string{`t.yaml:7:30: sunset must be a date such as 2027-06-30 or a date-time such as 2027-06-30T12:00:00Z, not "30/06/2027"`}},
		{"since not a date", cars + "        deprecated: {since: soon}\n",
			[]string{`t.yaml:7:29: since must be a date such as 2027-06-30 or a date-time such as 2027-06-30T12:00:00Z, not "soon"`}},
		{"successor neither path nor URL", cars + "        deprecated: {successor: v2}\n",
			[]string{`t.yaml:7:33: successor must be a path such as /v2 or an absolute http(s) URL, not "v2"`}},
		{"successor another scheme", strings.Replace(cars, "  - resources:", "  - deprecated: {successor: \"mailto:x@y\"}\n    resources:", 1),
			[]string{`t.yaml:2:29: successor must be a path such as /v2 or an absolute http(s) URL, not "mailto:x@y"`}},
		{"successor with a space", cars + "        deprecated: {successor: \"/v2 x\"}\n",
			[]string{`t.yaml:7:33: successor must be a path such as /v2 or an absolute http(s) URL, not "/v2 x"`}},
		{"unknown deprecation key", cars + "        deprecated: {sunsett: 2027-01-01}\n",
			[]string{`t.yaml:7:22: unknown key "sunsett" in apis[0].resources.cars.deprecated; did you mean "sunset"?`}},
		{"deprecated not a boolean", cars + "        deprecated: yes please\n",
			[]string{`t.yaml:7:21: deprecated must be true or false, not "yes please"`}},
		{"sunset before since", cars + "        deprecated: {since: 2027-01-01, sunset: 2026-01-01}\n",
			[]string{`t.yaml:7:49: the sunset 2026-01-01 comes before the deprecation's since 2027-01-01`}},
		{"renamed from a declared field", cars + "          name: {type: string}\n          title: {type: string, renamed_from: name}\n",
			[]string{`t.yaml:8:47: renamed_from "name" is still declared as a field; remove that field, or rename from another`}},
		{"renamed from itself", cars + "          title: {type: string, renamed_from: title}\n",
			[]string{`t.yaml:7:47: renamed_from names the field itself`}},
		{"renamed from a bad name", cars + "          title: {type: string, renamed_from: Old-Title}\n",
			[]string{`t.yaml:7:47: renamed_from must be a field name matching ^[a-z][a-z0-9_]{0,62}$, got "Old-Title"`}},
		{"two renamed from one", cars + "          a: {type: string, renamed_from: old}\n          b: {type: string, renamed_from: old}\n",
			[]string{`t.yaml:8:43: renamed_from "old" is also a's; only one field can take over its data`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tc.src))
			if err == nil {
				t.Fatalf("Parse succeeded, want:\n%s", strings.Join(tc.want, "\n"))
			}
			if got := lines(t, err); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
