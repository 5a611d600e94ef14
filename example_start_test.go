package lawcket_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/lawckettest"
)

// The App is a lambda.Handler: Invoke takes the raw payload Lambda
// delivers and decodes it itself, so a payload with a wrong JSON type is a
// 400 naming the field rather than a decoder failure before lawcket runs.
func ExampleApp_Invoke() {
	ws := lawcket.New(lawcket.WithLogger(discard))
	ws.On(lawcket.Connect, func(ctx context.Context, ev *lawcket.Event) error {
		fmt.Println("connected", ev.Connection.ID, ev.Query("room"))
		return nil
	})
	ctx := context.Background()
	out, err := ws.Invoke(ctx, lawckettest.JSON(lawckettest.Connect(lawckettest.Query("room", "lobby"))))
	fmt.Println(string(out), err)

	out, err = ws.Invoke(ctx, []byte(`{"requestContext":{"eventType":"CONNECT","connectionId":42}}`))
	fmt.Println(string(out), err)
	// Output:
	// connected BQ1a2ecXDoECJQg= lobby
	// {"statusCode":200,"headers":null,"multiValueHeaders":null,"body":""} <nil>
	// {"statusCode":400,"headers":{"Content-Type":"text/plain; charset=utf-8"},"multiValueHeaders":null,"body":"event field requestContext.connectionId: JSON number where string is expected"} <nil>
}

// Handler is the typed function, for code that calls the App with decoded
// events (aws-lambda-go's lambda.Start(ws.Handler()) works too, without
// Invoke's own decoding).
func ExampleApp_Handler() {
	ws := lawcket.New(lawcket.WithLogger(discard))
	ws.Route("send", func(ctx context.Context, ev *lawcket.Event) error {
		return lawcket.Reject(http.StatusTeapot, "got "+string(ev.Body))
	})
	resp, err := ws.Handler()(context.Background(), lawckettest.Message("hi", lawckettest.Route("send")))
	fmt.Println(resp.StatusCode, resp.Body, err)
	// Output: 418 got hi <nil>
}

// Err lists every configuration error; Start logs them all and exits 1
// instead of serving.
func ExampleApp_Err() {
	ws := lawcket.New(lawcket.WithLogger(discard), lawcket.WithSubprotocols("chat v1"))
	ws.Route("$connect", func(context.Context, *lawcket.Event) error { return nil })
	fmt.Println(ws.Err())
	// Output:
	// lawcket: WithSubprotocols: invalid subprotocol "chat v1"
	// lawcket: Route("$connect"): use On(Connect) or On(Close)
}

// Start runs the App in Lambda with aws-lambda-go's options; it does not
// return (and does not start at all when the App is misconfigured).
func ExampleApp_Start() {
	ws := lawcket.New()
	ws.On(lawcket.Message, func(ctx context.Context, ev *lawcket.Event) error {
		return ev.Reply(ctx, ev.Body)
	})
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		ws.Start(lambda.WithEnableSIGTERM(func() { fmt.Println("shutting down") }))
	}
}

func ExampleEvent_Query() {
	ws := lawcket.New(lawcket.WithLogger(discard))
	ws.On(lawcket.Connect, func(ctx context.Context, ev *lawcket.Event) error {
		fmt.Printf("room=%q tags=%q missing=%q\n", ev.Query("room"), ev.Request.MultiValueQueryStringParameters["tag"], ev.Query("nope"))
		fmt.Println("user", ev.Authorizer()["userId"], "admin", ev.Authorizer()["admin"])
		return nil
	})
	ws.Handler()(context.Background(), lawckettest.Connect(
		lawckettest.Query("room", "lobby"), lawckettest.Query("tag", "a", "b"),
		lawckettest.Authorizer("user-42", map[string]any{"userId": "42", "admin": "true"}),
	))
	// Output:
	// room="lobby" tags=["a" "b"] missing=""
	// user 42 admin true
}

// presence is a plugin with a connect and a close hook.
type presence struct{}

func (presence) Name() string { return "presence" }
func (presence) OnConnect(ctx context.Context, ev *lawcket.Event) error {
	fmt.Println("presence: online", ev.Connection.ID)
	return nil
}
func (presence) OnClose(ctx context.Context, ev *lawcket.Event) error {
	fmt.Println("presence: offline", ev.Connection.ID, "on", ev.Type)
	return nil
}

// Plugins run before the connect handler; when the connect is refused
// after a plugin's OnConnect succeeded, its OnClose undoes it.
func ExampleWithPlugins() {
	ws := lawcket.New(lawcket.WithLogger(discard), lawcket.WithPlugins(presence{}))
	ws.On(lawcket.Connect, func(ctx context.Context, ev *lawcket.Event) error {
		if ev.Query("room") == "" {
			return lawcket.Reject(http.StatusBadRequest, "no room")
		}
		return nil
	})
	h := ws.Handler()
	resp, _ := h(context.Background(), lawckettest.Connect(lawckettest.ConnectionID("c-1")))
	fmt.Println(resp.StatusCode, resp.Body)
	resp, _ = h(context.Background(), lawckettest.Connect(lawckettest.ConnectionID("c-2"), lawckettest.Query("room", "lobby")))
	fmt.Println(resp.StatusCode)
	h(context.Background(), lawckettest.Disconnect(lawckettest.ConnectionID("c-2")))
	// Output:
	// presence: online c-1
	// presence: offline c-1 on connect
	// 400 no room
	// presence: online c-2
	// 200
	// presence: offline c-2 on close
}

// A main that cannot build its App ends the init with the error: Lambda
// then reports a failed init with it, instead of a function that fails
// every event.
func ExampleFailInit() {
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") == "" {
		return // not in Lambda: nothing to start
	}
	table := os.Getenv("TABLE")
	if table == "" {
		lawcket.FailInit(errors.New("myapp: TABLE is not set")) // logged, reported, exit 1
	}
	lawcket.New().Start()
}
