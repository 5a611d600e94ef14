package devgw

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
)

// Go's HTTP server canonicalizes header names (sec-websocket-key becomes
// Sec-Websocket-Key), but API Gateway passes the client's own casing. To
// give the handler the client's casing, the gateway records the raw bytes of
// the first request on each connection (a WebSocket handshake is normally
// the first request of its connection) and maps canonical names back.

const maxRawHeader = 16 << 10

type rawHeaderListener struct{ net.Listener }

func (l rawHeaderListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &rawHeaderConn{Conn: c}, nil
}

// rawHeaderConn records what is read until the end of the first header block.
type rawHeaderConn struct {
	net.Conn
	mu       sync.Mutex
	buf      []byte
	done     bool
	requests int
}

func (c *rawHeaderConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if !c.done {
			c.buf = append(c.buf, p[:n]...)
			if i := bytes.Index(c.buf, []byte("\r\n\r\n")); i >= 0 {
				c.buf = c.buf[:i]
				c.done = true
			} else if len(c.buf) > maxRawHeader {
				c.buf = nil
				c.done = true
			}
		}
		c.mu.Unlock()
	}
	return n, err
}

type rawHeaderKey struct{}

func rawHeaderConnContext(ctx context.Context, c net.Conn) context.Context {
	if rc, ok := c.(*rawHeaderConn); ok {
		return context.WithValue(ctx, rawHeaderKey{}, rc)
	}
	return ctx
}

// headerNames maps canonical header names to the casing the client sent for
// r, when r is the first request of its connection. Otherwise it is nil and
// names stay canonical.
func headerNames(r *http.Request) map[string]string {
	rc, ok := r.Context().Value(rawHeaderKey{}).(*rawHeaderConn)
	if !ok {
		return nil
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.requests++
	if rc.requests != 1 || !rc.done || rc.buf == nil {
		return nil
	}
	return parseHeaderNames(rc.buf)
}

// parseHeaderNames maps canonical names to raw names in a request's header
// block (request line and header lines, without the final blank line).
func parseHeaderNames(block []byte) map[string]string {
	names := make(map[string]string)
	lines := bytes.Split(block, []byte("\n")) // Go's server also accepts bare LF
	for _, line := range lines[1:] {          // lines[0] is the request line
		name, _, ok := bytes.Cut(line, []byte(":"))
		raw := string(bytes.TrimSpace(name))
		if !ok || !isToken(raw) {
			continue // Go's server refuses such a request anyway
		}
		canon := textproto.CanonicalMIMEHeaderKey(raw)
		if _, seen := names[canon]; !seen {
			names[canon] = raw
		}
	}
	return names
}

// isToken reports whether s is a non-empty HTTP token (RFC 9110 tchar).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
