package lawckettest_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"
	"github.com/lawcket/lawcket/lawckettest"
)

func ExampleConnect() {
	req := lawckettest.Connect(
		lawckettest.ConnectionID("c-1"),
		lawckettest.Query("room", "lobby"),
		lawckettest.Header("x-tenant", "acme"),
		lawckettest.Subprotocols("chat.v2", "chat.v1"),
		lawckettest.Authorizer("user-42", map[string]any{"userId": "42"}),
	)
	rc := req.RequestContext
	fmt.Println(rc.RouteKey, rc.EventType, rc.ConnectionID, rc.DomainName)
	fmt.Println(req.QueryStringParameters["room"], req.MultiValueHeaders["x-tenant"], req.Headers["Sec-WebSocket-Protocol"])
	fmt.Println(rc.Authorizer.(map[string]any)["principalId"])

	// Without Query, the query-string maps are absent, as from API Gateway.
	fmt.Println(lawckettest.Connect().QueryStringParameters == nil)
	// Output:
	// $connect CONNECT c-1 abc123def4.execute-api.eu-west-1.amazonaws.com
	// lobby [acme] chat.v2, chat.v1
	// user-42
	// true
}

func ExampleMessage() {
	req := lawckettest.Message(`{"action":"send","text":"hi"}`, lawckettest.Route("send"))
	fmt.Println(req.RequestContext.RouteKey, req.RequestContext.EventType, req.Body, req.Headers == nil)
	// Output: send MESSAGE {"action":"send","text":"hi"} true
}

func ExampleDisconnect() {
	req := lawckettest.Disconnect(lawckettest.DisconnectCode(1006, "Connection lost"))
	fmt.Println(req.RequestContext.EventType, req.RequestContext.DisconnectStatusCode, *req.RequestContext.DisconnectReason)
	// Output: DISCONNECT 1006 Connection lost
}

func ExampleJSON() {
	raw := lawckettest.JSON(lawckettest.Message("hi", lawckettest.ConnectionID("c-1")))
	fmt.Println(string(raw))
	// Output:
	// {"requestContext":{"stage":"prod","requestId":"BQ1knPH17NjMFftw=","identity":{"sourceIp":"203.0.113.7","userAgent":"Mozilla/5.0 (X11; Linux x86_64) lawckettest"},"apiId":"abc123def4","connectedAt":1731324924553,"connectionId":"c-1","domainName":"abc123def4.execute-api.eu-west-1.amazonaws.com","eventType":"MESSAGE","extendedRequestId":"BQ1knPH17NjMFftw=","messageDirection":"IN","messageId":"BQ1knPc2ntjMCFIA=","requestTime":"11/Nov/2024:11:35:25 +0000","requestTimeEpoch":1731324925553,"routeKey":"$default"},"body":"hi","isBase64Encoded":false}
}

func ExampleInvoke() {
	handler := func(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
		if req.QueryStringParameters["token"] == "" {
			return events.APIGatewayProxyResponse{StatusCode: 401, Body: "no token"}, nil
		}
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	}
	resp, err := lawckettest.Invoke(context.Background(), handler, lawckettest.JSON(lawckettest.Connect()))
	fmt.Println(resp.StatusCode, resp.Body, err)
	resp, err = lawckettest.Invoke(context.Background(), handler, lawckettest.JSON(lawckettest.Connect(lawckettest.Query("token", "t"))))
	fmt.Println(resp.StatusCode, err)
	// Output:
	// 401 no token <nil>
	// 200 <nil>
}

func ExampleNewServer() {
	s := lawckettest.NewServer()
	defer s.Close()
	s.Gone("gone-1")
	c := s.Client("prod") // the real SDK client, SigV4-signed

	ctx := context.Background()
	for _, id := range []string{"c-1", "gone-1"} {
		_, err := c.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String(id), Data: []byte("hello")})
		var gone *types.GoneException
		fmt.Println(id, err == nil, errors.As(err, &gone))
	}
	for _, r := range s.Posts() {
		fmt.Println(r.Method, r.Stage, r.ConnectionID, r.Status, r.Delivered, r.Signed)
	}
	fmt.Printf("%q\n", s.Delivered("c-1"))
	// Output:
	// c-1 true false
	// gone-1 false true
	// POST prod c-1 200 true true
	// POST prod gone-1 410 false true
	// ["hello"]
}

func ExampleServer_Script() {
	s := lawckettest.NewServer()
	defer s.Close()
	// A throttle, then a delivery that answers 500: the SDK's default
	// retryer (3 attempts) resends each time, so the payload arrives twice.
	s.Script("c-1", lawckettest.Answer(429), lawckettest.DeliverThen(500))
	_, err := s.Client("prod").PostToConnection(context.Background(), &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String("c-1"), Data: []byte("m")})
	fmt.Println(err)
	for _, r := range s.Posts() {
		fmt.Println(r.Behavior, r.Status, r.Delivered)
	}
	fmt.Println(len(s.Delivered("c-1")))
	// Output:
	// <nil>
	// 429 429 false
	// deliver then 500 500 true
	// 200 200 true
	// 2
}

// An answer after the caller's deadline: the client sees its context's
// error, the server still delivers.
func ExampleBehavior_After() {
	s := lawckettest.NewServer()
	s.Script("c-1", lawckettest.Answer(200).After(200*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := s.Client("prod", func(o *apigatewaymanagementapi.Options) { o.Retryer = aws.NopRetryer{} }).
		PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: aws.String("c-1"), Data: []byte("late")})
	fmt.Println(errors.Is(err, context.DeadlineExceeded))
	s.Close() // waits for the delayed answer
	fmt.Printf("%q\n", s.Delivered("c-1"))
	// Output:
	// true
	// ["late"]
}
