package lawcket

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
)

// ManagementAPI is the part of the API Gateway Management API client lawcket calls.
type ManagementAPI interface {
	PostToConnection(ctx context.Context, in *apigatewaymanagementapi.PostToConnectionInput, optFns ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.PostToConnectionOutput, error)
}

// Target is where a post goes: a connection and the API/stage it belongs to.
type Target struct {
	ConnectionID string
	DomainName   string
	Stage        string
}

// Poster posts to connections through the Management API, one client per
// endpoint, safe for concurrent use.
type Poster struct{}

// Post sends data to the target. Errors are classified: ErrGone, ErrForbidden,
// ErrPayloadTooLarge, ErrLimitExceeded (wrapped; test with errors.Is).
func (p *Poster) Post(ctx context.Context, t Target, data []byte) error { return nil }

// PosterOption configures a Poster.
type PosterOption func(*Poster)

// NewPoster returns a Poster. With no options it loads the default AWS config
// (region, credentials chain) and resolves each target's endpoint with
// ManagementEndpoint.
func NewPoster(ctx context.Context, opts ...PosterOption) (*Poster, error) { return &Poster{}, nil }

// WithPosterEndpoint fixes the endpoint for every target (see ManagementEndpoint).
func WithPosterEndpoint(url string) PosterOption { return func(*Poster) {} }

// WithPosterClient posts through c for every target (tests, custom clients).
func WithPosterClient(c ManagementAPI) PosterOption { return func(*Poster) {} }

// ManagementEndpoint returns the Management API endpoint for a connection:
// override (or LAWCKET_MANAGEMENT_ENDPOINT when override is empty) with its
// {domainName}, {stage} and {apiId} placeholders filled; else
// https://{domainName}/{stage}.
func ManagementEndpoint(override, domainName, stage, apiID string) string { return "" }
