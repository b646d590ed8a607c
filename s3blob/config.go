package s3blob

import (
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/restkit/restkit"
)

const (
	// DefaultPartSize is the part size of a multipart upload, and so the memory a
	// stage holds: one part.
	DefaultPartSize = 16 << 20

	// DefaultStaleAfter is how old a stage must be before Clean removes it. Other
	// nodes may be staging into the same prefix while this one cleans, so only
	// stages older than any upload can take are garbage.
	DefaultStaleAfter = 24 * time.Hour

	// minPartSize and maxPartSize are S3's bounds on the parts of a multipart upload
	// (the last part may be smaller); maxParts is its limit on their number.
	minPartSize = 5 << 20
	maxPartSize = 5 << 30
	maxParts    = 10_000
)

// Config says where a Store keeps its blobs. ParseURL makes one from a URL; the
// zero value of PartSize and StaleAfter means their defaults.
type Config struct {
	Endpoint  string // host:port of the S3 API
	Secure    bool   // https (else http)
	Region    string // "": the bucket's own, asked of the server
	Bucket    string
	Prefix    string // key prefix inside the bucket, without slashes at either end; may be ""
	AccessKey string
	SecretKey string
	// SessionToken goes with temporary credentials (AWS_SESSION_TOKEN); usually "".
	SessionToken string
	// VirtualHost addresses the bucket as a host name (bucket.endpoint) instead of
	// in the path (endpoint/bucket). Path style is the default: it works with every
	// S3-compatible server and with IP addresses.
	VirtualHost bool
	// PartSize is the size of the parts a stage uploads (0: DefaultPartSize): the
	// memory one stage holds, and with S3's 10,000 parts the largest blob that can
	// be staged without a limit (16 MiB parts: 156 GiB).
	PartSize int64
	// StaleAfter is the age from which Clean removes a stage (0: DefaultStaleAfter;
	// negative: every stage, however young, as fsblob does; for one node alone).
	StaleAfter time.Duration
	// Transport carries the requests (nil: minio-go's default). Tests count bytes with it.
	Transport http.RoundTripper
}

// ParseURL reads a Config from a URL of the form
//
//	s3://ACCESS:SECRET@HOST:PORT/BUCKET[/PREFIX…][?PARAMS]
//
// with the parameters insecure=true (http, else https), region=NAME,
// virtual_host=true, part_size=SIZE (bytes, or with a unit: 16MiB) and
// stale_after=DURATION (24h; 0 or a negative duration: every stage). The access
// and secret keys are percent-decoded, so a secret holding '/', '+' or '@' must
// be escaped (%2F, %2B, %40); without them in the URL they come from
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN). Errors are
// Invalid, and never repeat the URL: it may hold a secret.
func ParseURL(rawURL string) (Config, error) {
	invalid := func(format string, args ...any) (Config, error) {
		return Config{}, restkit.Errorf(restkit.Invalid, "s3 URL: "+format, args...)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error repeats the URL, secret and all: keep only what went wrong.
		if ue, ok := err.(*url.Error); ok {
			return invalid("%v", ue.Err)
		}
		return invalid("it is not a URL")
	}
	if u.Scheme != "s3" {
		return invalid("the scheme must be s3://, not %q", u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return invalid("a host (and port) is required: s3://ACCESS:SECRET@HOST:PORT/BUCKET")
	}
	if u.Opaque != "" || u.Fragment != "" {
		return invalid("it must be s3://ACCESS:SECRET@HOST:PORT/BUCKET[/PREFIX]")
	}
	c := Config{Endpoint: u.Host, Secure: true}

	path := strings.Trim(u.Path, "/")
	c.Bucket, c.Prefix, _ = strings.Cut(path, "/")
	if c.Bucket == "" {
		return invalid("a bucket is required: s3://ACCESS:SECRET@HOST:PORT/BUCKET")
	}
	if err := s3utils.CheckValidBucketNameStrict(c.Bucket); err != nil {
		return invalid("%q is not a valid bucket name", c.Bucket)
	}
	c.Prefix = strings.TrimRight(c.Prefix, "/")
	if c.Prefix != "" {
		for _, seg := range strings.Split(c.Prefix, "/") {
			if seg == "" || seg == "." || seg == ".." {
				return invalid("the prefix %q has an empty, . or .. segment", c.Prefix)
			}
		}
	}

	if u.User != nil {
		c.AccessKey = u.User.Username()
		c.SecretKey, _ = u.User.Password()
		if c.AccessKey == "" || c.SecretKey == "" {
			return invalid("credentials in the URL need both parts: ACCESS:SECRET@")
		}
	} else {
		c.AccessKey = os.Getenv("AWS_ACCESS_KEY_ID")
		c.SecretKey = os.Getenv("AWS_SECRET_ACCESS_KEY")
		c.SessionToken = os.Getenv("AWS_SESSION_TOKEN")
		if c.AccessKey == "" || c.SecretKey == "" {
			return invalid("no credentials: put ACCESS:SECRET@ in the URL or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
		}
	}

	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return invalid("the query is malformed")
	}
	for name, values := range q {
		v := values[len(values)-1]
		switch name {
		case "insecure", "virtual_host":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return invalid("%s must be true or false, not %q", name, v)
			}
			if name == "insecure" {
				c.Secure = !b
			} else {
				c.VirtualHost = b
			}
		case "region":
			c.Region = v
		case "part_size":
			n, err := humanize.ParseBytes(v)
			if err != nil || n < minPartSize || n > maxPartSize {
				return invalid("part_size must be between 5MiB and 5GiB, not %q", v)
			}
			c.PartSize = int64(n)
		case "stale_after":
			d, err := time.ParseDuration(v)
			if err != nil {
				return invalid("stale_after must be a duration such as 24h, not %q", v)
			}
			if d <= 0 {
				d = -1 // every stage
			}
			c.StaleAfter = d
		default:
			return invalid("unknown parameter %q (known: insecure, region, virtual_host, part_size, stale_after)", name)
		}
	}
	return c, nil
}

// Validate reports what is missing or out of range, as Invalid.
func (c Config) Validate() error {
	switch {
	case c.Endpoint == "":
		return restkit.Errorf(restkit.Invalid, "s3: an endpoint is required")
	case s3utils.CheckValidBucketNameStrict(c.Bucket) != nil:
		return restkit.Errorf(restkit.Invalid, "s3: %q is not a valid bucket name", c.Bucket)
	case c.AccessKey == "" || c.SecretKey == "":
		return restkit.Errorf(restkit.Invalid, "s3: an access key and a secret key are required")
	case c.PartSize != 0 && (c.PartSize < minPartSize || c.PartSize > maxPartSize):
		return restkit.Errorf(restkit.Invalid, "s3: the part size must be between 5MiB and 5GiB")
	case strings.HasPrefix(c.Prefix, "/") || strings.HasSuffix(c.Prefix, "/"):
		return restkit.Errorf(restkit.Invalid, "s3: the prefix must not start or end with /")
	}
	return nil
}

// String is the configuration as a URL without the credentials, for logs.
func (c Config) String() string {
	u := url.URL{Scheme: "s3", Host: c.Endpoint, Path: "/" + c.Bucket}
	if c.Prefix != "" {
		u.Path += "/" + c.Prefix
	}
	q := url.Values{}
	if !c.Secure {
		q.Set("insecure", "true")
	}
	if c.Region != "" {
		q.Set("region", c.Region)
	}
	if c.VirtualHost {
		q.Set("virtual_host", "true")
	}
	if c.PartSize != 0 {
		q.Set("part_size", strconv.FormatInt(c.PartSize, 10))
	}
	if c.StaleAfter != 0 {
		q.Set("stale_after", max(c.StaleAfter, 0).String())
	}
	u.RawQuery = q.Encode()
	return u.String()
}
