package ratelimit

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientKey names the client of r by its IP address, for requests with no
// authenticated identity.
//
// The address is the direct peer's, from r.RemoteAddr, unless that peer is in one of
// the trusted prefixes (a reverse proxy or load balancer of ours). Then the
// X-Forwarded-For header (all its fields, joined in order) is read from right to left:
// each trusted proxy appends the address it received the request from, so the
// right-most address that is not itself trusted is the client. Addresses to its left
// were written by the client and are ignored, so a client cannot choose its own key.
// If every address is trusted, the left-most is the client; if an entry cannot be
// parsed, the walk stops and the last address reached (a trusted one) is used. From an
// untrusted peer the header is ignored altogether.
//
// Entries may be bare IPv4 or IPv6 addresses, or carry a port (1.2.3.4:5,
// [2001:db8::1]:5). IPv4-mapped IPv6 addresses are reported as IPv4. A RemoteAddr
// that is not an address (such as a Unix socket's) is returned as it is.
func ClientKey(r *http.Request, trusted []netip.Prefix) string {
	peer, ok := parseAddr(r.RemoteAddr)
	if !ok {
		return r.RemoteAddr
	}
	if !isTrusted(peer, trusted) {
		return peer.String()
	}
	client := peer
	values := r.Header.Values("X-Forwarded-For")
	var hops []string
	for _, v := range values {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseAddr(strings.TrimSpace(hops[i]))
		if !ok {
			break
		}
		client = a
		if !isTrusted(a, trusted) {
			break
		}
	}
	return client.String()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseAddr reads an address with or without a port.
func parseAddr(s string) (netip.Addr, bool) {
	if s == "" {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		if a, err := netip.ParseAddr(host); err == nil {
			return a.Unmap().WithZone(""), true
		}
	}
	return netip.Addr{}, false
}
