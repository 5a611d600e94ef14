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

// maxPending bounds the bytes kept after the first header block until the
// connection becomes a WebSocket (a client rarely sends frames before the
// 101; an HTTP keep-alive connection sends its next request there).
const maxPending = 1 << 10

// rawHeaderConn records what is read until the end of the first header
// block; once watchFrames is called it also follows the WebSocket frames
// the client sends (see frameScanner).
type rawHeaderConn struct {
	net.Conn
	mu       sync.Mutex
	buf      []byte
	done     bool
	requests int

	pending  []byte // read after the header block, before watchFrames
	overflow bool   // pending exceeded maxPending: frames cannot be followed
	frames   *frameScanner
	limit    uint64
	tooBig   func(size, message uint64) // called once, from Read, before it returns
}

func (c *rawHeaderConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		got := p[:n]
		if !c.done {
			start := len(c.buf)
			c.buf = append(c.buf, got...)
			if i := bytes.Index(c.buf, []byte("\r\n\r\n")); i >= 0 {
				got = c.buf[max(i+4, start):]
				c.buf = c.buf[:i]
				c.done = true
			} else if len(c.buf) > maxRawHeader {
				c.buf = nil
				c.done = true
				c.overflow = true
			} else {
				got = nil
			}
		}
		var tooBig func(uint64, uint64)
		var size, msg uint64
		if len(got) > 0 {
			switch {
			case c.frames != nil:
				if s, m, over := c.frames.feed(got, c.limit); over {
					tooBig, size, msg = c.tooBig, s, m
					c.frames = nil // report once
				}
			case !c.overflow && c.tooBig == nil:
				if len(c.pending)+len(got) > maxPending {
					c.pending, c.overflow = nil, true
				} else {
					c.pending = append(c.pending, got...)
				}
			}
		}
		c.mu.Unlock()
		if tooBig != nil {
			tooBig(size, msg) // before the WebSocket reader can see the frame
		}
	}
	return n, err
}

// watchFrames follows the client's frames from now on (including those
// read before, after the handshake) and calls tooBig once for the first
// frame over limit, with its size and the index of its data message, before
// the bytes of its header are returned by Read. It reports false when the
// frames cannot be followed.
func (c *rawHeaderConn) watchFrames(limit uint64, tooBig func(size, message uint64)) bool {
	c.mu.Lock()
	if c.overflow || !c.done || c.requests != 1 {
		c.mu.Unlock()
		return false
	}
	c.frames, c.limit, c.tooBig = &frameScanner{}, limit, tooBig
	pending := c.pending
	c.pending = nil
	s, m, over := c.frames.feed(pending, limit)
	if over {
		c.frames = nil
	}
	c.mu.Unlock()
	if over {
		tooBig(s, m)
	}
	return true
}

// watchFrames is rawHeaderConn.watchFrames for r's connection.
func watchFrames(r *http.Request, limit uint64, tooBig func(size, message uint64)) bool {
	rc, ok := r.Context().Value(rawHeaderKey{}).(*rawHeaderConn)
	return ok && rc.watchFrames(limit, tooBig)
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
