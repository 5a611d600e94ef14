package devgw

import (
	"crypto/rand"
	"encoding/base64"
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
