package webhook

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// Outbound safety. A webhook URL makes the server send requests where its operator
// says; without care that reaches what only the server can reach (SSRF): its own
// admin routes on loopback, a database on the private network, a cloud's metadata
// service on a link-local address. So every connection is checked where it is made
// — in net.Dialer.Control, after name resolution, on the address actually dialled —
// which DNS rebinding (a name that resolves to a public address when checked and to
// 127.0.0.1 when used) cannot get around. Addresses that are not public unicast are
// refused unless webhooks.allow_hosts lists the endpoint's host name or a prefix
// holding the address. Redirects are not followed (Standard Webhooks: a 3xx is a
// failed delivery), no proxy from the environment is used (it would be dialled
// instead of the destination), each attempt has a time limit, and at most
// MaxResponse bytes of a response are read.

// AllowList is the parsed allow_hosts: host names (lower case) and address prefixes.
type AllowList struct {
	Hosts    []string
	Prefixes []netip.Prefix
}

// Add adds one allow_hosts entry — a host name, an IP address or a CIDR
// prefix — to the list, or says what is wrong with it.
func (a *AllowList) Add(entry string) error {
	if p, err := netip.ParsePrefix(entry); err == nil {
		a.Prefixes = append(a.Prefixes, p.Masked())
		return nil
	}
	if ip, err := netip.ParseAddr(entry); err == nil && ip.Zone() == "" {
		ip = ip.Unmap()
		a.Prefixes = append(a.Prefixes, netip.PrefixFrom(ip, ip.BitLen()))
		return nil
	}
	if !isHostName(entry) {
		return fmt.Errorf("must be a host name, an IP address or a CIDR prefix such as 10.0.0.0/8")
	}
	a.Hosts = append(a.Hosts, strings.ToLower(strings.TrimSuffix(entry, ".")))
	return nil
}

// isHostName reports whether s is a DNS host name: dot-separated labels of letters,
// digits and hyphens, not starting or ending with a hyphen (RFC 1123 §2.1).
func isHostName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// allowsHost reports whether the list names host.
func (a AllowList) allowsHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, h := range a.Hosts {
		if h == host {
			return true
		}
	}
	return false
}

// allowsAddr reports whether a prefix of the list holds ip.
func (a AllowList) allowsAddr(ip netip.Addr) bool {
	for _, p := range a.Prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// special are address blocks that are not public unicast beyond what netip's
// predicates name (IANA special-purpose registries, RFC 6890).
var special = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "a 'this network' address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (carrier-grade NAT) address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
	{netip.MustParsePrefix("64:ff9b::/96"), "a NAT64 address"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a NAT64 address"},
	{netip.MustParsePrefix("2002::/16"), "a 6to4 address"},
	{netip.MustParsePrefix("2001::/32"), "a Teredo address"},
}

// nonPublic says why ip is not a public unicast address, or "" when it is one.
func nonPublic(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsPrivate():
		return "a private address"
	case ip.IsLinkLocalUnicast():
		return "a link-local address"
	case ip.IsUnspecified():
		return "an unspecified address"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast(), ip.IsLinkLocalMulticast():
		return "a multicast address"
	case ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "the broadcast address"
	}
	for _, s := range special {
		if s.prefix.Contains(ip) {
			return s.what
		}
	}
	return ""
}

// ErrRefused is the error (wrapped) of a connection refused by the allow-list.
var ErrRefused = errors.New("destination refused")

// guard returns the Control function of an endpoint's dialer: it refuses addresses
// that are not public unless allowed.
func guard(allow AllowList, hostAllowed bool) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		if hostAllowed {
			return nil
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: cannot read the address %q", ErrRefused, address)
		}
		ip := ap.Addr().Unmap()
		if why := nonPublic(ip); why != "" && !allow.allowsAddr(ip) {
			return fmt.Errorf("%w: %s is %s; list it in webhooks.allow_hosts to send webhooks there", ErrRefused, ip, why)
		}
		return nil
	}
}

// newClient returns the HTTP client of one endpoint: the dialer checks each address,
// no proxy, no redirects, timeout per attempt.
func newClient(host string, allow AllowList, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: guard(allow, allow.allowsHost(host))}
	transport := &http.Transport{
		Proxy:                  nil, // an environment proxy would be dialled instead of the checked destination
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		DisableCompression:     true, // the answer is discarded
		MaxIdleConns:           4,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    timeout,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport:     transport,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// drain reads at most limit bytes of a response body and closes it: enough to let
// the connection be reused after a short answer, never a large or endless one.
func drain(body io.ReadCloser, limit int64) {
	_, _ = io.CopyN(io.Discard, body, limit)
	_ = body.Close()
}
