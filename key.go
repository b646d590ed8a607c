package restkit

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sync"
	"time"
)

// keyClock makes NewKey monotonic within this process (RFC 9562 §6.2, method 3): the
// 12 bits after the version are a counter within one millisecond, started at a random
// value below 2048 so there is room to count up; when it would overflow, the
// timestamp moves one millisecond ahead of the wall clock.
var keyClock struct {
	sync.Mutex
	ms  uint64
	seq uint16
}

// NewKey returns a UUIDv7 (RFC 9562) as its 36-character string: 48 bits of Unix
// milliseconds, a 12-bit sequence, then 62 random bits. Keys made later in one process
// sort later, so generated keys keep B-tree inserts at the right edge of the index and
// paging by key follows creation order.
func NewKey() string {
	var u [16]byte
	_, _ = rand.Read(u[6:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	now := uint64(time.Now().UnixMilli())
	keyClock.Lock()
	switch {
	case now > keyClock.ms:
		keyClock.ms, keyClock.seq = now, binary.BigEndian.Uint16(u[6:8])&0x7ff
	case keyClock.seq < 0xfff:
		keyClock.seq++
	default:
		keyClock.ms, keyClock.seq = keyClock.ms+1, 0
	}
	ms, seq := keyClock.ms, keyClock.seq
	keyClock.Unlock()
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], ms)
	copy(u[0:6], ts[2:8])
	u[6] = 0x70 | byte(seq>>8) // version 7 and the sequence's high bits
	u[7] = byte(seq)
	u[8] = 0x80 | (u[8] & 0x3f) // RFC 9562 variant
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return string(s[:])
}
