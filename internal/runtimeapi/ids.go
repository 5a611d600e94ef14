package runtimeapi

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"time"
)

// NewUUID returns a random (version 4) UUID, the shape of Lambda request
// ids (and of the x-amzn-RequestId the local gateway's answers carry).
func NewUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// TraceRoot returns a new X-Ray trace id root, 1-{epoch seconds in hex}-{24
// hex digits}, the shape of Lambda-Runtime-Trace-Id's Root and of API
// Gateway's X-Amzn-Trace-Id.
func TraceRoot() string {
	return "1-" + strconv.FormatInt(time.Now().Unix(), 16) + "-" + randomHex(24)
}
