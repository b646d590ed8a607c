package config

import (
	"math"
	"net/netip"
	"strconv"
	"strings"

	"github.com/restkit/restkit"
)

// rateLimit reads a ratelimit: setting: a mapping {rate: 10/s, burst: 20}, or off
// (turns limiting off here, where the API or the default would apply). At the top
// level (top) the mapping may also hold trusted_proxies, and may leave out rate
// (then nothing is limited by default, but APIs and resources may still be).
func (d *decoder) rateLimit(e entry, path string, top bool) (*restkit.RateLimit, []netip.Prefix) {
	if e.isNull() {
		return nil, nil
	}
	if s, ok := scalarOf(e.value); ok && !top && (s.text == "off" || s.value == false) {
		return &restkit.RateLimit{}, nil
	}
	keys := limitKeys
	what := "ratelimit must be a mapping such as {rate: 10/s, burst: 20} or off"
	if top {
		what = "ratelimit must be a mapping such as {rate: 10/s, burst: 20, trusted_proxies: [10.0.0.0/8]}"
	} else {
		keys = limitKeys[:2]
	}
	if _, ok := scalarOf(e.value); ok {
		d.fail(path, e.at(), "%s, not %s", what, describe(e.value))
		return nil, nil
	}
	es, ok := d.mapping(e.value, e.at(), path, "in "+path, keys)
	if !ok {
		return nil, nil
	}
	var rl restkit.RateLimit
	var trusted []netip.Prefix
	rateSet, burstSet := false, false
	for _, s := range es {
		p := path + "." + s.key
		d.rec(p, s)
		switch s.key {
		case "rate":
			if s.isNull() {
				continue
			}
			sc, _ := scalarOf(s.value)
			r, ok := parseRate(sc.text)
			if !ok {
				d.fail(p, s.at(), "rate must be a number of requests per second, minute or hour such as 10/s, 100/min or 1000/h, not %s", describe(s.value))
				continue
			}
			rl.Rate, rateSet = r, true
		case "burst":
			if n, ok := d.integer(s, p, 1, math.MaxInt32); ok && !s.isNull() {
				rl.Burst, burstSet = int(n), true
			}
		case "trusted_proxies":
			list := d.list(s, p, s.key, "an address or prefix such as 10.0.0.0/8")
			for i, it := range d.items[p] {
				pr, ok := parsePrefix(it.text)
				if !ok {
					d.errorAt(it.at, "trusted_proxies[%d] must be an IP address or prefix such as 10.0.0.0/8 or ::1, not %q", i, clip(it.text))
					continue
				}
				trusted = append(trusted, pr)
			}
			_ = list
		}
	}
	if !rateSet {
		if burstSet || !top {
			d.fail(path, e.at(), "ratelimit needs rate, such as 10/s")
		}
		return nil, trusted
	}
	if !burstSet {
		rl.Burst = max(1, int(math.Ceil(rl.Rate)))
	}
	return &rl, trusted
}

// parseRate reads N/s, N/min or N/h (N positive, possibly fractional) as per second.
func parseRate(s string) (float64, bool) {
	num, unit, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || !(n > 0) || math.IsInf(n, 0) {
		return 0, false
	}
	switch strings.TrimSpace(unit) {
	case "s":
		return n, true
	case "min":
		return n / 60, true
	case "h":
		return n / 3600, true
	}
	return 0, false
}

// parsePrefix reads a CIDR prefix or a single address (as a prefix of its full length).
func parsePrefix(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}
