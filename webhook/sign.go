package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
)

// Sign returns the webhook-signature header of a delivery per the Standard Webhooks
// specification ("Signature scheme"): "v1," and the base64 of the HMAC-SHA256, under
// the key, of the webhook id, the timestamp in Unix seconds and the body, joined by
// full stops. The id and the timestamp are restkit's own and hold no full stop.
func Sign(key []byte, id string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write(strconv.AppendInt(nil, timestamp, 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
