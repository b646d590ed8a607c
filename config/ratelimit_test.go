package config

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/restkit/restkit"
)

func TestRateLimit(t *testing.T) {
	c, err := Parse("t.yaml", []byte(`ratelimit: {rate: 10/s, burst: 20, trusted_proxies: [10.0.0.0/8, 127.0.0.1, "::1"]}
apis:
  - resources:
      cars:
        key: id
        fields: {id: {type: integer}}
        ratelimit: {rate: 30/min, burst: 5}
      boats:
        key: id
        fields: {id: {type: integer}}
        ratelimit: off
      planes:
        key: id
        fields: {id: {type: integer}}
      resources:
        item_path: resource
        key: id
        fields: {id: {type: integer}}
        ratelimit: {rate: 1/s, burst: 3}
  - base: /v1
    ratelimit: {rate: 7200/h}
    resources:
      people:
        key: id
        fields: {id: {type: integer}}
`))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Schema
	if want := (&restkit.RateLimit{Rate: 10, Burst: 20}); !reflect.DeepEqual(s.RateLimit, want) {
		t.Errorf("default %+v", s.RateLimit)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}
	if !reflect.DeepEqual(c.TrustedProxies, want) {
		t.Errorf("trusted %v", c.TrustedProxies)
	}
	for _, tc := range []struct {
		path  string
		want  *restkit.RateLimit
		scope string
	}{
		{"/cars", &restkit.RateLimit{Rate: 0.5, Burst: 5}, "resource:/cars"},
		{"/cars/7", &restkit.RateLimit{Rate: 0.5, Burst: 5}, "resource:/cars"},
		{"/boats/1", nil, ""},
		// A resource's items, at its item_path, count in its list's bucket.
		{"/resources", &restkit.RateLimit{Rate: 1, Burst: 3}, "resource:/resources"},
		{"/resource", &restkit.RateLimit{Rate: 1, Burst: 3}, "resource:/resources"},
		{"/resource/2", &restkit.RateLimit{Rate: 1, Burst: 3}, "resource:/resources"},
		{"/planes", &restkit.RateLimit{Rate: 10, Burst: 20}, ""},
		{"/v1/people/3", &restkit.RateLimit{Rate: 2, Burst: 2}, "api:/v1"},
		{"/docs", &restkit.RateLimit{Rate: 10, Burst: 20}, ""},
		{"/healthz", nil, ""},
	} {
		got, scope := s.RateLimitAt(tc.path)
		if !reflect.DeepEqual(got, tc.want) || scope != tc.scope {
			t.Errorf("%s: %+v %q, want %+v %q", tc.path, got, scope, tc.want, tc.scope)
		}
	}
}

func TestRateLimitErrors(t *testing.T) {
	_, err := Parse("t.yaml", []byte(`ratelimit: {rate: 10/day, burst: 0, trusted_proxies: [10.0.0.0/33], extra: 1}
apis:
  - ratelimit: {burst: 3, trusted_proxies: []}
    resources:
      cars:
        key: id
        fields: {id: {type: integer}}
        ratelimit: fast
`))
	if err == nil {
		t.Fatal("no error")
	}
	got := err.Error()
	for _, want := range []string{
		`t.yaml:1:19: rate must be a number of requests per second, minute or hour such as 10/s, 100/min or 1000/h, not "10/day"`,
		`t.yaml:1:34: burst must be at least 1, not "0"`,
		`trusted_proxies[0] must be an IP address or prefix such as 10.0.0.0/8 or ::1, not "10.0.0.0/33"`,
		`unknown key "extra" in ratelimit`,
		`t.yaml:3:16: ratelimit needs rate, such as 10/s`,
		`unknown key "trusted_proxies" in apis[0].ratelimit`,
		`t.yaml:8:20: ratelimit must be a mapping such as {rate: 10/s, burst: 20} or off, not "fast"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q:\n%s", want, got)
		}
	}
}
