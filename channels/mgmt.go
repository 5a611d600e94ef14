package channels

// This file is the package's only direct use of the Management API client
// (GetConnection, for sweeps); posts go through broadcast (fanout.go).

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/smithy-go"
	"github.com/lawcket/lawcket"
)

// Checker asks the Management API whether a connection still exists.
// Check returns nil when it does, an error wrapping lawcket.ErrGone when it
// answers 410, and any other error as it is. It is called concurrently.
type Checker interface {
	Check(ctx context.Context, t lawcket.Target) error
}

// GetConnectionAPI is the part of the Management API client a Checker
// calls. *apigatewaymanagementapi.Client implements it.
type GetConnectionAPI interface {
	GetConnection(ctx context.Context, in *apigatewaymanagementapi.GetConnectionInput, optFns ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.GetConnectionOutput, error)
}

// NewChecker returns a Checker calling GetConnection with SDK clients built
// from cfg, one per endpoint: endpoint is a template as in
// lawcket.ManagementEndpoint ("" means LAWCKET_MANAGEMENT_ENDPOINT, else
// https://{domainName}/{stage}).
func NewChecker(cfg aws.Config, endpoint string) Checker {
	return &sdkChecker{cfg: cfg, endpoint: endpoint, clients: map[string]GetConnectionAPI{}}
}

// CheckerFunc adapts a GetConnectionAPI for every target (tests, a custom client).
func CheckerFunc(c GetConnectionAPI) Checker { return &sdkChecker{fixed: c} }

type sdkChecker struct {
	cfg      aws.Config
	endpoint string
	fixed    GetConnectionAPI

	mu      sync.Mutex
	clients map[string]GetConnectionAPI
}

func (c *sdkChecker) client(t lawcket.Target) (GetConnectionAPI, error) {
	if c.fixed != nil {
		return c.fixed, nil
	}
	if t.DomainName == "" || t.Stage == "" {
		return nil, fmt.Errorf("channels: connection %s has no domainName/stage to reach the Management API", t.ConnectionID)
	}
	ep := lawcket.ManagementEndpoint(c.endpoint, t.DomainName, t.Stage, t.APIID)
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.clients[ep]; ok {
		return cl, nil
	}
	cl := apigatewaymanagementapi.NewFromConfig(c.cfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(ep)
		if o.Region == "" {
			o.Region = "us-east-1"
		}
	})
	c.clients[ep] = cl
	return cl, nil
}

// Check calls GetConnection.
func (c *sdkChecker) Check(ctx context.Context, t lawcket.Target) error {
	cl, err := c.client(t)
	if err != nil {
		return err
	}
	_, err = cl.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(t.ConnectionID)})
	if err == nil {
		return nil
	}
	var apiErr smithy.APIError
	var respErr *awshttp.ResponseError
	if (errors.As(err, &apiErr) && apiErr.ErrorCode() == "GoneException") ||
		(errors.As(err, &respErr) && respErr.HTTPStatusCode() == http.StatusGone) {
		return fmt.Errorf("%w: get %s: %w", lawcket.ErrGone, t.ConnectionID, err)
	}
	return fmt.Errorf("channels: get connection %s: %w", t.ConnectionID, err)
}
