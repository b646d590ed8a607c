// Package recordjson writes records as JSON by hand rather than through
// encoding/json, so that fields keep their declared order and a record costs a
// handful of appends instead of a reflection walk over a map. The API's answers,
// the event streams and the webhook payloads all show a record the same way.
package recordjson
