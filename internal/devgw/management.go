package devgw

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/lawcket/lawcket/internal/runtimeapi"
)

// postTimeout bounds a post to a client that does not read; the connection
// is then closed and the post answers 410.
var postTimeout = 10 * time.Second

// serveManagement is the Management API: POST, GET and DELETE
// /{stage}/@connections/{id}. Signatures are accepted without checking.
func (g *Gateway) serveManagement(w http.ResponseWriter, r *http.Request, id string) {
	w.Header()["x-amzn-RequestId"] = []string{runtimeapi.NewUUID()} // the SDK reports it with errors
	if id == "" || strings.Contains(id, "/") {
		writeJSONError(w, http.StatusBadRequest, "BadRequestException", "Invalid connectionId: "+id)
		return
	}
	switch r.Method {
	case http.MethodPost:
		data, err := io.ReadAll(io.LimitReader(r.Body, MaxMessageSize+1))
		if err != nil {
			writeJSONError(w, http.StatusBadRequest, "BadRequestException", "cannot read the request body")
			return
		}
		if len(data) > MaxMessageSize {
			writeJSONError(w, http.StatusRequestEntityTooLarge, "PayloadTooLargeException",
				"Message too long: posts are limited to 128 KB")
			return
		}
		c := g.lookup(r.Context(), id)
		if c == nil {
			writeGone(w, id)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), postTimeout)
		defer cancel()
		if err := c.write(ctx, data); err != nil {
			g.log.Warn("post to connection failed; closing it", "connectionId", id, "err", err)
			c.closeByServer(1006, "Going away")
			writeGone(w, id)
			return
		}
		c.touch()
		w.WriteHeader(http.StatusOK)
	case http.MethodGet:
		c := g.lookup(r.Context(), id)
		if c == nil {
			writeGone(w, id)
			return
		}
		// Field names and the date-time format follow the service model
		// (jsonName connectedAt, identity.sourceIp, ...), which the SDK parses.
		type identity struct {
			SourceIP  string `json:"sourceIp"`
			UserAgent string `json:"userAgent,omitempty"`
		}
		body, _ := json.Marshal(struct {
			ConnectedAt  string   `json:"connectedAt"`
			Identity     identity `json:"identity"`
			LastActiveAt string   `json:"lastActiveAt"`
		}{
			ConnectedAt:  c.connectedAt.UTC().Format(isoMillis),
			Identity:     identity{SourceIP: c.sourceIP, UserAgent: c.userAgent},
			LastActiveAt: time.Unix(0, c.lastActive.Load()).UTC().Format(isoMillis),
		})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write(body)
	case http.MethodDelete:
		c := g.lookup(r.Context(), id)
		if c == nil {
			writeGone(w, id)
			return
		}
		c.closeByServer(1000, "Connection closed by DeleteConnection")
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		writeJSONError(w, http.StatusMethodNotAllowed, "", "Method Not Allowed")
	}
}

const isoMillis = "2006-01-02T15:04:05.000Z07:00"

// lookup returns the established connection id, nil when there is none.
// A connection whose handshake is completing is waited for.
func (g *Gateway) lookup(ctx context.Context, id string) *conn {
	g.mu.Lock()
	c := g.conns[id]
	g.mu.Unlock()
	if c == nil {
		return nil
	}
	select {
	case <-c.ready:
	case <-ctx.Done():
		return nil
	}
	g.mu.Lock()
	shutdown := g.closed
	g.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ws == nil || (c.serverCode != 0 && !shutdown) {
		// Closed by the gateway (DeleteConnection, a timeout, a failed
		// post): gone at once for Post, Get and Delete alike, as on AWS.
		// While the gateway shuts down, the $disconnect handlers may still
		// post to the connections closing with them.
		return nil
	}
	return c
}

func writeGone(w http.ResponseWriter, id string) {
	writeJSONError(w, http.StatusGone, "GoneException", "connection "+id+" is gone: it closed, or never existed")
}

// writeJSONError writes an API Gateway error: the status, the
// x-amzn-ErrorType header (when errType is set) and {"message": ...}.
func writeJSONError(w http.ResponseWriter, status int, errType, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if errType != "" {
		h["x-amzn-ErrorType"] = []string{errType} // API Gateway's casing
	}
	body, _ := json.Marshal(map[string]string{"message": msg})
	w.WriteHeader(status)
	w.Write(body)
}
