package s3blob

import (
	"strings"
	"testing"
	"time"

	"github.com/restkit/restkit"
)

func TestParseURL(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_SESSION_TOKEN", "")
	for _, c := range []struct {
		url  string
		want Config
	}{
		{"s3://AK:SK@127.0.0.1:7070/bucket/prefix?insecure=true&region=us-east-1",
			Config{Endpoint: "127.0.0.1:7070", Bucket: "bucket", Prefix: "prefix", Region: "us-east-1", AccessKey: "AK", SecretKey: "SK"}},
		{"s3://AK:SK@s3.amazonaws.com/bucket",
			Config{Endpoint: "s3.amazonaws.com", Secure: true, Bucket: "bucket", AccessKey: "AK", SecretKey: "SK"}},
		{"s3://AK:SK@host/bucket/", // a trailing slash is no prefix
			Config{Endpoint: "host", Secure: true, Bucket: "bucket", AccessKey: "AK", SecretKey: "SK"}},
		{"s3://AK:SK@[::1]:9000/bucket/a/b/c/?insecure=false",
			Config{Endpoint: "[::1]:9000", Secure: true, Bucket: "bucket", Prefix: "a/b/c", AccessKey: "AK", SecretKey: "SK"}},
		{"s3://AK:a%2Fb%2Bc%40d@host/bucket", // a secret with / + @, escaped
			Config{Endpoint: "host", Secure: true, Bucket: "bucket", AccessKey: "AK", SecretKey: "a/b+c@d"}},
		{"s3://AK:SK@host/bucket?virtual_host=true&part_size=64MiB&stale_after=2h",
			Config{Endpoint: "host", Secure: true, Bucket: "bucket", AccessKey: "AK", SecretKey: "SK",
				VirtualHost: true, PartSize: 64 << 20, StaleAfter: 2 * time.Hour}},
		{"s3://AK:SK@host/bucket?stale_after=0&part_size=5242880",
			Config{Endpoint: "host", Secure: true, Bucket: "bucket", AccessKey: "AK", SecretKey: "SK",
				PartSize: 5 << 20, StaleAfter: -1}},
	} {
		got, err := ParseURL(c.url)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", c.url, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseURL(%q) = %+v, want %+v", c.url, got, c.want)
		}
		if strings.Contains(got.String(), got.SecretKey) {
			t.Errorf("String() = %q holds the secret", got.String())
		}
	}
}

func TestParseURLCredentialsFromEnvironment(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "ENVKEY")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "ENVSECRET")
	t.Setenv("AWS_SESSION_TOKEN", "TOKEN")
	c, err := ParseURL("s3://host:9000/bucket?insecure=true")
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessKey != "ENVKEY" || c.SecretKey != "ENVSECRET" || c.SessionToken != "TOKEN" {
		t.Errorf("credentials %q %q %q, want the environment's", c.AccessKey, c.SecretKey, c.SessionToken)
	}
	// The URL's beat the environment's.
	if c, _ := ParseURL("s3://AK:SK@host/bucket"); c.AccessKey != "AK" || c.SecretKey != "SK" || c.SessionToken != "" {
		t.Errorf("credentials %q %q %q, want the URL's", c.AccessKey, c.SecretKey, c.SessionToken)
	}
	// String round-trips, credentials aside.
	want := Config{Endpoint: "host:9000", Bucket: "bucket", Prefix: "a/b", Region: "eu-west-1",
		AccessKey: "ENVKEY", SecretKey: "ENVSECRET", SessionToken: "TOKEN", PartSize: 32 << 20, StaleAfter: time.Hour}
	got, err := ParseURL(want.String())
	if err != nil || got != want {
		t.Errorf("ParseURL(%q) = %+v, %v; want %+v", want.String(), got, err, want)
	}
}

func TestParseURLErrors(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	for _, c := range []struct{ url, says string }{
		{"http://AK:topsecret@host/bucket", "scheme"},
		{"s3://AK:topsecret@/bucket", "host"},
		{"s3://AK:topsecret@host", "bucket"},
		{"s3://AK:topsecret@host/", "bucket"},
		{"s3://AK:topsecret@host/Not_A_Bucket", "bucket name"},
		{"s3://AK:topsecret@host/bucket/a//b", "prefix"},
		{"s3://AK:topsecret@host/bucket/a/../b", "prefix"},
		{"s3://AK:topsecret@host/bucket/./b", "prefix"},
		{"s3://AK@host/bucket", "both parts"},
		{"s3://:topsecret@host/bucket", "both parts"},
		{"s3://host/bucket", "no credentials"},
		{"s3://AK:topsecret@host/bucket?insecure=maybe", "insecure"},
		{"s3://AK:topsecret@host/bucket?secure=true", "unknown parameter"},
		{"s3://AK:topsecret@host/bucket?part_size=1MiB", "part_size"},
		{"s3://AK:topsecret@host/bucket?part_size=6GiB", "part_size"},
		{"s3://AK:topsecret@host/bucket?stale_after=1d", "stale_after"},
		{"s3://AK:topsecret@host:port/bucket", "port"},
		{"s3://AK:top secret@host/bucket", ""},
		{"s3://AK:topsecret@host/bucket#frag", "s3://"},
		{"s3:AK:topsecret@host/bucket", "s3://"},
	} {
		_, err := ParseURL(c.url)
		if !restkit.IsKind(err, restkit.Invalid) {
			t.Errorf("ParseURL(%q) = %v, want Invalid", c.url, err)
			continue
		}
		msg := restkit.ErrorMessage(err)
		if !strings.Contains(msg, c.says) {
			t.Errorf("ParseURL(%q): %q does not say %q", c.url, msg, c.says)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("ParseURL(%q): the error %q holds the secret", c.url, err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Config{Endpoint: "host", Bucket: "bucket", AccessKey: "AK", SecretKey: "SK"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []func(*Config){
		func(c *Config) { c.Endpoint = "" },
		func(c *Config) { c.Bucket = "" },
		func(c *Config) { c.SecretKey = "" },
		func(c *Config) { c.PartSize = 1 << 20 },
		func(c *Config) { c.Prefix = "/a" },
	} {
		c := ok
		bad(&c)
		if err := c.Validate(); !restkit.IsKind(err, restkit.Invalid) {
			t.Errorf("Validate(%+v) = %v, want Invalid", c, err)
		}
	}
}
