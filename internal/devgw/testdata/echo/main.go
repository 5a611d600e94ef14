// Command echo is the test handler of package devgw: an ordinary lambda.Start
// program that answers through the Management API.
//
//   - $connect: ?status=N refuses with N (body "refused"); ?proto=P echoes P
//     as Sec-WebSocket-Protocol; ?crash=1 exits the process; ?selfpost=1
//     posts to the connection first and keeps the error in the event's
//     stageVariables.selfpostError; else 200. The event is kept for "connect".
//   - {"action":"connect"} posts back the $connect event of the connection.
//   - {"action":"watch"} makes the connection the watcher: every $disconnect
//     event is posted to it. With several processes, set ECHO_WATCH_FILE so
//     they share the watcher's id.
//   - {"action":"crash"} exits the process; {"action":"fail"} returns an
//     error; {"action":"reply"} returns the body "reply to ROUTEKEY" and
//     posts nothing; {"action":"sleep"} sleeps a minute; {"action":"env"} posts
//     the environment and invocation context the runtime gave it.
//   - any other message posts back its own event (a body over 64 KB is
//     replaced by "len:N").
//
// With ECHO_INIT_FAIL set it exits before lambda.Start, like a handler whose
// init fails. With ECHO_LOG_MESSAGES set it logs every message it gets.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
)

type handler struct {
	api *apigatewaymanagementapi.Client

	mu       sync.Mutex
	connects map[string]events.APIGatewayWebsocketProxyRequest
	watcher  string
}

func main() {
	if msg := os.Getenv("ECHO_INIT_FAIL"); msg != "" {
		log.Fatalf("init: %s", msg)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatalf("init: AWS config: %v", err)
	}
	endpoint := os.Getenv("LAWCKET_MANAGEMENT_ENDPOINT")
	if endpoint == "" {
		log.Fatal("init: LAWCKET_MANAGEMENT_ENDPOINT is not set")
	}
	h := &handler{
		api: apigatewaymanagementapi.NewFromConfig(cfg, func(o *apigatewaymanagementapi.Options) {
			o.BaseEndpoint = aws.String(endpoint)
		}),
		connects: make(map[string]events.APIGatewayWebsocketProxyRequest),
	}
	lambda.Start(h.serve)
}

func (h *handler) serve(ctx context.Context, ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	id := ev.RequestContext.ConnectionID
	switch ev.RequestContext.EventType {
	case "CONNECT":
		if ev.QueryStringParameters["crash"] != "" {
			log.Print("crashing in $connect on purpose")
			os.Exit(3)
		}
		if s := ev.QueryStringParameters["status"]; s != "" {
			var code int
			if err := json.Unmarshal([]byte(s), &code); err != nil {
				return events.APIGatewayProxyResponse{}, err
			}
			return events.APIGatewayProxyResponse{StatusCode: code, Body: "refused"}, nil
		}
		if ev.QueryStringParameters["selfpost"] != "" {
			// Posting during one's own $connect fails: not established yet.
			err := h.post(ctx, id, "too early")
			ev.StageVariables = map[string]string{"selfpostError": fmt.Sprint(err)}
		}
		h.mu.Lock()
		h.connects[id] = ev
		h.mu.Unlock()
		resp := events.APIGatewayProxyResponse{StatusCode: 200}
		if p := ev.QueryStringParameters["proto"]; p != "" {
			resp.Headers = map[string]string{"Sec-WebSocket-Protocol": p}
		}
		return resp, nil
	case "DISCONNECT":
		h.mu.Lock()
		delete(h.connects, id)
		watcher := h.watcher
		h.mu.Unlock()
		if f := os.Getenv("ECHO_WATCH_FILE"); f != "" {
			b, err := os.ReadFile(f)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return events.APIGatewayProxyResponse{}, err
			}
			watcher = string(b)
		}
		if watcher != "" && watcher != id {
			return events.APIGatewayProxyResponse{StatusCode: 200}, h.post(ctx, watcher, ev)
		}
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	}
	var msg struct {
		Action string `json:"action"`
	}
	_ = json.Unmarshal([]byte(ev.Body), &msg) // non-JSON bodies are echoed
	if os.Getenv("ECHO_LOG_MESSAGES") != "" {
		log.Printf("echo: message action=%q routeKey=%s bytes=%d", msg.Action, ev.RequestContext.RouteKey, len(ev.Body))
	}
	switch msg.Action {
	case "connect":
		h.mu.Lock()
		c := h.connects[id]
		h.mu.Unlock()
		return events.APIGatewayProxyResponse{StatusCode: 200}, h.post(ctx, id, c)
	case "watch":
		h.mu.Lock()
		h.watcher = id
		h.mu.Unlock()
		if f := os.Getenv("ECHO_WATCH_FILE"); f != "" {
			if err := os.WriteFile(f, []byte(id), 0o600); err != nil {
				return events.APIGatewayProxyResponse{}, err
			}
		}
	case "crash":
		log.Print("crashing on purpose")
		os.Exit(3)
	case "fail":
		return events.APIGatewayProxyResponse{}, errors.New("failing on purpose")
	case "reply":
		// Answer in the return value only (what a route response sends).
		return events.APIGatewayProxyResponse{StatusCode: 200, Body: "reply to " + ev.RequestContext.RouteKey}, nil
	case "sleep":
		time.Sleep(time.Minute)
	case "env":
		// What the runtime gave this invocation: environment and context.
		env := map[string]string{}
		for _, k := range []string{"AWS_ENDPOINT_URL_DYNAMODB", "LAWCKET_MANAGEMENT_ENDPOINT", "LAWCKET_CONFIG",
			"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_PROFILE", "AWS_LAMBDA_FUNCTION_NAME",
			"AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "_HANDLER", "AWS_LAMBDA_RUNTIME_API"} {
			if v, ok := os.LookupEnv(k); ok {
				env[k] = v
			}
		}
		lc, _ := lambdacontext.FromContext(ctx)
		deadline, _ := ctx.Deadline()
		env["ctx.requestId"] = lc.AwsRequestID
		env["ctx.functionArn"] = lc.InvokedFunctionArn
		env["ctx.deadlineIn"] = time.Until(deadline).Round(time.Second).String()
		env["ctx.traceId"] = os.Getenv("_X_AMZN_TRACE_ID")
		return events.APIGatewayProxyResponse{StatusCode: 200}, h.post(ctx, id, env)
	}
	return events.APIGatewayProxyResponse{StatusCode: 200}, h.post(ctx, id, ev)
}

func (h *handler) post(ctx context.Context, id string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if ev, ok := v.(events.APIGatewayWebsocketProxyRequest); ok && len(data) > 64<<10 {
		// Too large to post back whole: replace the body by its length.
		ev.Body = fmt.Sprintf("len:%d", len(ev.Body))
		if data, err = json.Marshal(ev); err != nil {
			return err
		}
	}
	_, err = h.api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(id),
		Data:         data,
	})
	return err
}
