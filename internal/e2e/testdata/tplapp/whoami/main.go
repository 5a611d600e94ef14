// Command whoami is the fixture's function for the "whoami" route, which
// has a route response: the body it returns is sent to the client.
package main

import (
	"context"
	"encoding/json"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(_ context.Context, ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	log.Printf("whoami invoked: %d bytes", len(ev.Body))
	body, err := json.Marshal(map[string]any{
		"function":     "WhoAmI",
		"functionName": os.Getenv("AWS_LAMBDA_FUNCTION_NAME"),
		"routeKey":     ev.RequestContext.RouteKey,
		"authorizer":   ev.RequestContext.Authorizer,
		"table":        os.Getenv("LAWCKET_TABLE"),
	})
	return events.APIGatewayProxyResponse{StatusCode: 200, Body: string(body)}, err
}

func main() { lambda.Start(handle) }
