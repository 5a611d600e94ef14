package lawcket_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/mgmt"
)

// request is a minimal API Gateway WebSocket event, as Lambda decodes it.
func request(eventType, routeKey, body string) events.APIGatewayWebsocketProxyRequest {
	return events.APIGatewayWebsocketProxyRequest{
		Body: body,
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{
			EventType:    eventType,
			RouteKey:     routeKey,
			ConnectionID: "L0SM9cOFvHcCIhw=",
			DomainName:   "abc123def4.execute-api.eu-west-1.amazonaws.com",
			Stage:        "prod",
			APIID:        "abc123def4",
			RequestID:    "L0SM9FHfvHcFBfw=",
		},
	}
}

var discard = slog.New(slog.DiscardHandler)

// A complete App: an auth middleware that refuses connects without a token,
// a handler per event, and a custom route.
func Example() {
	auth := func(next lawcket.Handler) lawcket.Handler {
		return lawcket.HandlerFunc(func(ctx context.Context, ev *lawcket.Event) error {
			if ev.Type == lawcket.Connect && ev.Query("token") != "s3cret" {
				return lawcket.Reject(http.StatusUnauthorized, "missing or invalid token")
			}
			return next.ServeEvent(ctx, ev)
		})
	}
	ws := lawcket.New(lawcket.WithMiddleware(auth), lawcket.WithLogger(discard))
	ws.On(lawcket.Connect, func(ctx context.Context, ev *lawcket.Event) error {
		fmt.Println("connected", ev.Connection.ID)
		return nil
	})
	ws.Route("join", func(ctx context.Context, ev *lawcket.Event) error {
		var msg struct{ Room string }
		if err := ev.DecodeJSON(&msg); err != nil {
			return err // 400 with the reason
		}
		fmt.Println("joins", msg.Room)
		return nil
	})
	h := ws.Handler() // lambda.Start(h), or ws.Start()
	ctx := context.Background()

	resp, err := h(ctx, request("CONNECT", "$connect", ""))
	fmt.Println(resp.StatusCode, resp.Body, err)

	req := request("CONNECT", "$connect", "")
	req.QueryStringParameters = map[string]string{"token": "s3cret"}
	resp, err = h(ctx, req)
	fmt.Println(resp.StatusCode, err)

	resp, _ = h(ctx, request("MESSAGE", "join", `{"action":"join","room":"lobby"}`))
	fmt.Println(resp.StatusCode)
	resp, _ = h(ctx, request("MESSAGE", "join", `{"action":"join",`))
	fmt.Println(resp.StatusCode, resp.Body)
	// Output:
	// 401 missing or invalid token <nil>
	// connected L0SM9cOFvHcCIhw=
	// 200 <nil>
	// joins lobby
	// 200
	// 400 body is not valid JSON: unexpected EOF
}

func ExampleApp_On() {
	ws := lawcket.New(lawcket.WithLogger(discard))
	ws.On(lawcket.Message, func(ctx context.Context, ev *lawcket.Event) error {
		fmt.Printf("%s on %s: %s\n", ev.Type, ev.RouteKey, ev.Body)
		return nil
	})
	ws.On(lawcket.Close, func(ctx context.Context, ev *lawcket.Event) error {
		return errors.New("cleanup failed") // a fault: 500 and an error for Lambda's metrics
	})
	h := ws.Handler()
	resp, err := h(context.Background(), request("MESSAGE", "$default", "hello"))
	fmt.Println(resp.StatusCode, err)
	resp, err = h(context.Background(), request("DISCONNECT", "$disconnect", ""))
	fmt.Println(resp.StatusCode, err)
	// Output:
	// message on $default: hello
	// 200 <nil>
	// 500 lawcket: close handler: cleanup failed
}

func ExampleApp_Route() {
	ws := lawcket.New(lawcket.WithLogger(discard))
	ws.Route("send", func(ctx context.Context, ev *lawcket.Event) error {
		fmt.Println("send:", string(ev.Body))
		return nil
	})
	h := ws.Handler()
	resp, _ := h(context.Background(), request("MESSAGE", "send", `{"action":"send"}`))
	fmt.Println(resp.StatusCode)
	// No Route for "ping" and no Message handler: 404, no Lambda error.
	resp, err := h(context.Background(), request("MESSAGE", "ping", `{"action":"ping"}`))
	fmt.Println(resp.StatusCode, resp.Body, err)
	// Output:
	// send: {"action":"send"}
	// 200
	// 404 no handler for route "ping" (register one with Route or On(Message)) <nil>
}

func ExampleReject() {
	err := lawcket.Reject(http.StatusForbidden, "room is full")
	fmt.Println(err)
	var rej *lawcket.Rejection
	if errors.As(fmt.Errorf("join: %w", err), &rej) {
		fmt.Println(rej.Status, rej.Reason)
	}
	// Output:
	// lawcket: rejected with 403: room is full
	// 403 room is full
}

func ExampleEvent_DecodeJSON() {
	ev := &lawcket.Event{Body: []byte(`{"action":"send","text":"hi"}`)}
	var msg struct{ Action, Text string }
	fmt.Println(ev.DecodeJSON(&msg), msg.Text)

	ev.Body = []byte("hi")
	err := ev.DecodeJSON(&msg)
	var rej *lawcket.Rejection
	fmt.Println(errors.As(err, &rej), rej.Status)
	fmt.Println(err)
	// Output:
	// <nil> hi
	// true 400
	// lawcket: rejected with 400: body is not valid JSON: invalid character 'h' looking for beginning of value
}

func ExampleEvent_Header() {
	ev := &lawcket.Event{Request: events.APIGatewayWebsocketProxyRequest{
		Headers: map[string]string{"Sec-WebSocket-Protocol": "chat.v1, json"},
	}}
	fmt.Println(ev.Header("sec-websocket-protocol"))
	fmt.Println(ev.Subprotocols())
	// Output:
	// chat.v1, json
	// [chat.v1 json]
}

func ExampleWithSubprotocols() {
	ws := lawcket.New(lawcket.WithSubprotocols("chat.v2", "chat.v1"), lawcket.WithLogger(discard))
	req := request("CONNECT", "$connect", "")
	req.Headers = map[string]string{"Sec-WebSocket-Protocol": "chat.v1, chat.v2"}
	resp, _ := ws.Handler()(context.Background(), req)
	fmt.Println(resp.StatusCode, resp.Headers["Sec-WebSocket-Protocol"])

	req.Headers["Sec-WebSocket-Protocol"] = "mqtt"
	resp, _ = ws.Handler()(context.Background(), req)
	fmt.Println(resp.StatusCode, resp.Body)
	// Output:
	// 200 chat.v2
	// 400 no supported subprotocol among ["mqtt"] (supported: ["chat.v2" "chat.v1"])
}

// Reply posts to the sender through the Management API (here a local test
// server; in Lambda the default https://{domainName}/{stage}).
func ExampleEvent_Reply() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Println(r.Method, r.URL.Path, string(body))
	}))
	defer srv.Close()
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")}
	client, err := mgmt.New(mgmt.WithAWSConfig(cfg), mgmt.WithEndpoint(srv.URL+"/{stage}"))
	if err != nil {
		fmt.Println(err)
		return
	}
	ws := lawcket.New(lawcket.WithManagement(client), lawcket.WithLogger(discard))
	ws.On(lawcket.Message, func(ctx context.Context, ev *lawcket.Event) error {
		return ev.Reply(ctx, map[string]string{"echo": string(ev.Body)})
	})
	resp, err := ws.Handler()(context.Background(), request("MESSAGE", "$default", "hi"))
	fmt.Println(resp.StatusCode, err)
	// Output:
	// POST /prod/@connections/L0SM9cOFvHcCIhw= {"echo":"hi"}
	// 200 <nil>
}
