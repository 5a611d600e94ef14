package lawcket

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Connection identifies the WebSocket connection an event belongs to.
type Connection struct {
	ID          string
	DomainName  string
	Stage       string
	APIID       string
	ConnectedAt time.Time
	SourceIP    string
	UserAgent   string
}

// Event is one API Gateway WebSocket event.
type Event struct {
	Type       EventType
	RouteKey   string
	Request    events.APIGatewayWebsocketProxyRequest
	Connection Connection
	// Body is the message body, decoded from base64 when isBase64Encoded.
	Body []byte
}

// Header returns the value of the named header, matched case-insensitively.
func (e *Event) Header(name string) string { return "" }

// DecodeJSON decodes the body as JSON into v.
func (e *Event) DecodeJSON(v any) error { return nil }

// Reply posts v to the event's own connection.
func (e *Event) Reply(ctx context.Context, v any) error { return nil }
