package devgw

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// newID returns an id shaped like API Gateway's connection, request and
// message ids: 11 random bytes in base64, 16 characters ending in '='
// (e.g. "L0SM9cOFvHcCIhw="). Ids with '+' or '/' are redrawn so an id is
// always one URL path segment.
func newID() string {
	var b [11]byte
	for {
		rand.Read(b[:])
		s := base64.StdEncoding.EncodeToString(b[:])
		if !strings.ContainsAny(s, "+/") {
			return s
		}
	}
}

// newUUID returns a random (version 4) UUID, the shape of Lambda request ids.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// randomAPIID is a 10-character lower-case id like API Gateway's apiId.
func randomAPIID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b [10]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// requestTimeFormat is requestContext.requestTime's layout.
const requestTimeFormat = "02/Jan/2006:15:04:05 -0700"
