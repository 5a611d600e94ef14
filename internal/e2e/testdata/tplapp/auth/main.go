// Command auth is the fixture's Lambda REQUEST authorizer: ?token=allow-USER
// allows USER with a context of a string, a number and a boolean;
// ?token=deny denies; ?token=error fails; ?token=unauthorized fails with
// "Unauthorized"; ?token=bad answers no policy.
package main

import (
	"context"
	"errors"
	"log"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

type request struct {
	Type                  string            `json:"type"`
	MethodArn             string            `json:"methodArn"`
	QueryStringParameters map[string]string `json:"queryStringParameters"`
	RequestContext        struct {
		ConnectionID string `json:"connectionId"`
		RouteKey     string `json:"routeKey"`
	} `json:"requestContext"`
}

func handle(_ context.Context, req request) (any, error) {
	token := req.QueryStringParameters["token"]
	log.Printf("authorizer invoked: token=%s connectionId=%s", token, req.RequestContext.ConnectionID)
	if req.Type != "REQUEST" || req.RequestContext.RouteKey != "$connect" || req.RequestContext.ConnectionID == "" {
		return nil, errors.New("not a WebSocket REQUEST authorizer event")
	}
	effect := "Allow"
	switch {
	case token == "deny":
		effect = "Deny"
	case token == "error":
		return nil, errors.New("authorizer failed on purpose")
	case token == "unauthorized":
		return nil, errors.New("Unauthorized") // API Gateway's convention for 401
	case token == "bad":
		return "not a policy", nil
	case !strings.HasPrefix(token, "allow-"):
		effect = "Deny"
	}
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: "user|" + strings.TrimPrefix(token, "allow-"),
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{{
				Action: []string{"execute-api:Invoke"}, Effect: effect, Resource: []string{req.MethodArn},
			}},
		},
		Context: map[string]any{"user": strings.TrimPrefix(token, "allow-"), "plan": "pro", "level": 3, "admin": true},
	}, nil
}

func main() { lambda.Start(handle) }
