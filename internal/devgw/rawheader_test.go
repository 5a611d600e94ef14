package devgw

import (
	"net/textproto"
	"strings"
	"testing"
)

func TestParseHeaderNames(t *testing.T) {
	block := "GET /local HTTP/1.1\r\nhost: x\r\nSec-WebSocket-Key: k\r\nsec-websocket-key: again\r\nX-lower-UPPER: v\r\nbad line\r\n"
	got := parseHeaderNames([]byte(block))
	want := map[string]string{"Host": "host", "Sec-Websocket-Key": "Sec-WebSocket-Key", "X-Lower-Upper": "X-lower-UPPER"}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s → %q, want %q", k, got[k], v)
		}
	}
}

// FuzzParseHeaderNames: any bytes give a map whose raw names are the
// canonical names in another casing.
func FuzzParseHeaderNames(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\nsec-websocket-key: b"))
	f.Add([]byte("\r\n:\r\n: x\r\n a : b"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, block []byte) {
		for canon, raw := range parseHeaderNames(block) {
			if textproto.CanonicalMIMEHeaderKey(raw) != canon || raw == "" || strings.ContainsAny(raw, "\r\n") {
				t.Fatalf("%q → %q", canon, raw)
			}
		}
	})
}
