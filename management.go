package lawcket

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/smithy-go"
)

// EnvManagementEndpoint is the environment variable that overrides the
// Management API endpoint when no option does (see ManagementEndpoint).
const EnvManagementEndpoint = "LAWCKET_MANAGEMENT_ENDPOINT"

const defaultEndpoint = "https://{domainName}/{stage}"

// ManagementAPI is the part of the API Gateway Management API client lawcket calls.
type ManagementAPI interface {
	PostToConnection(ctx context.Context, in *apigatewaymanagementapi.PostToConnectionInput, optFns ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.PostToConnectionOutput, error)
}

// Target is where a post goes: a connection and the API/stage it belongs to.
// APIID is needed only when the endpoint template contains {apiId}.
type Target struct {
	ConnectionID string
	DomainName   string
	Stage        string
	APIID        string
}

// Poster posts to connections through the Management API. It builds one SDK
// client per endpoint, on first use, and keeps it; the AWS config is loaded
// once. A Poster is safe for concurrent use; build one per process (in main,
// or the App's, see App.Poster) rather than per invocation.
type Poster struct {
	endpoint      string        // template; "" means LAWCKET_MANAGEMENT_ENDPOINT, else https://{domainName}/{stage}
	fixed         ManagementAPI // WithPosterClient
	noThrottle    bool          // WithPosterThrottleRetry(false)
	cfgGiven      bool
	clientOptions []func(*apigatewaymanagementapi.Options)
	err           error // invalid options

	mu      sync.Mutex
	cfg     aws.Config
	loaded  bool
	clients map[string]*apigatewaymanagementapi.Client    // by endpoint
	targets map[targetKey]*apigatewaymanagementapi.Client // resolved endpoints, so a broadcast resolves each API/stage once
}

// targetKey is what a target's endpoint depends on: the template in force
// (the environment variable is read on every Post, so a change still takes
// effect) and the target's placeholder values.
type targetKey struct{ tmpl, domainName, stage, apiID string }

// PosterOption configures a Poster.
type PosterOption func(*Poster)

// NewPoster returns a Poster. Unless WithPosterClient or WithPosterAWSConfig
// is given it loads the default AWS config now (region and credentials
// chain) and returns its error. Each target's endpoint is resolved with
// ManagementEndpoint.
func NewPoster(ctx context.Context, opts ...PosterOption) (*Poster, error) {
	p := newPoster(opts...)
	if p.err != nil {
		return nil, p.err
	}
	if p.fixed == nil {
		if _, err := p.config(ctx); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// newPoster applies opts without I/O; the config is loaded on first Post.
func newPoster(opts ...PosterOption) *Poster {
	p := &Poster{clients: map[string]*apigatewaymanagementapi.Client{}, targets: map[targetKey]*apigatewaymanagementapi.Client{}}
	for _, o := range opts {
		if o == nil {
			p.err = errors.Join(p.err, errors.New("lawcket: nil PosterOption"))
			continue
		}
		o(p)
	}
	return p
}

// WithPosterEndpoint fixes the endpoint template for every target, instead
// of LAWCKET_MANAGEMENT_ENDPOINT or the default (see ManagementEndpoint).
func WithPosterEndpoint(url string) PosterOption {
	return func(p *Poster) {
		if err := checkEndpoint(url); err != nil {
			p.err = errors.Join(p.err, fmt.Errorf("lawcket: WithPosterEndpoint: %w", err))
			return
		}
		p.endpoint = url
	}
}

// WithPosterClient posts through c for every target (tests, custom
// clients); the endpoint and AWS config are then not used. Errors from c are
// classified like the SDK's.
func WithPosterClient(c ManagementAPI) PosterOption {
	return func(p *Poster) {
		if c == nil {
			p.err = errors.Join(p.err, errors.New("lawcket: WithPosterClient: nil client"))
			return
		}
		p.fixed = c
	}
}

// WithPosterAWSConfig uses cfg (region, credentials, retryer, HTTP client)
// for the clients instead of loading the default config.
func WithPosterAWSConfig(cfg aws.Config) PosterOption {
	return func(p *Poster) {
		p.cfg, p.cfgGiven, p.loaded = cfg, true, true
	}
}

// WithPosterClientOptions adds functions applied to the options of every
// SDK client the Poster builds (HTTP client, retryer, ...).
func WithPosterClientOptions(fns ...func(*apigatewaymanagementapi.Options)) PosterOption {
	return func(p *Poster) { p.clientOptions = append(p.clientOptions, fns...) }
}

// WithPosterThrottleRetry says whether the SDK's retryer retries 429
// LimitExceededException (default true: the standard retryer makes up to 3
// attempts with backoff). With false, Post returns ErrLimitExceeded on the
// first 429 so that the caller can run its own bounded retry (broadcast does);
// other retryable failures (5xx, connection errors) are still retried.
func WithPosterThrottleRetry(retry bool) PosterOption {
	return func(p *Poster) { p.noThrottle = !retry }
}

// Post sends data to the target. Errors are classified once: ErrGone (410),
// ErrForbidden (403), ErrPayloadTooLarge (413), ErrLimitExceeded (429),
// wrapped together with the SDK's error (test with errors.Is; errors.As finds
// the SDK's types). Other errors are returned wrapped as they are. A 404 is
// deliberately not ErrGone: it usually means a wrong endpoint (for example
// one without the stage path), and treating it as gone would make broadcast
// delete every row.
func (p *Poster) Post(ctx context.Context, t Target, data []byte) error {
	if p.err != nil {
		return p.err
	}
	if t.ConnectionID == "" {
		return errors.New("lawcket: post: target has no connection id")
	}
	c, err := p.client(ctx, t)
	if err != nil {
		return err
	}
	if data == nil {
		data = []byte{} // an empty frame; the SDK refuses a nil Data
	}
	_, err = c.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(t.ConnectionID),
		Data:         data,
	})
	if err != nil {
		return classifyPost(t.ConnectionID, err)
	}
	return nil
}

// classifyPost maps a Management API error to the package's sentinels.
func classifyPost(id string, err error) error {
	var sentinel error
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "GoneException":
			sentinel = ErrGone
		case "ForbiddenException", "AccessDeniedException":
			sentinel = ErrForbidden
		case "PayloadTooLargeException":
			sentinel = ErrPayloadTooLarge
		case "LimitExceededException", "TooManyRequestsException":
			sentinel = ErrLimitExceeded
		}
	}
	var respErr *awshttp.ResponseError
	if sentinel == nil && errors.As(err, &respErr) {
		switch respErr.HTTPStatusCode() {
		case http.StatusGone:
			sentinel = ErrGone
		case http.StatusForbidden:
			sentinel = ErrForbidden
		case http.StatusRequestEntityTooLarge:
			sentinel = ErrPayloadTooLarge
		case http.StatusTooManyRequests:
			sentinel = ErrLimitExceeded
		}
	}
	if sentinel == nil {
		return fmt.Errorf("lawcket: post to %s: %w", id, err)
	}
	return fmt.Errorf("%w: post to %s: %w", sentinel, id, err)
}

// config returns the AWS config, loading the default one on first use.
func (p *Poster) config(ctx context.Context) (aws.Config, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.configLocked(ctx)
}

func (p *Poster) configLocked(ctx context.Context) (aws.Config, error) {
	if p.loaded {
		return p.cfg, nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		// Not cached: a later call may succeed (e.g. a transient IMDS failure).
		return aws.Config{}, fmt.Errorf("lawcket: load AWS config: %w", err)
	}
	p.cfg, p.loaded = cfg, true
	return cfg, nil
}

// client returns the cached SDK client for t's endpoint, building it once.
func (p *Poster) client(ctx context.Context, t Target) (ManagementAPI, error) {
	if p.fixed != nil {
		return p.fixed, nil
	}
	tmpl, source := endpointTemplate(p.endpoint)
	key := targetKey{tmpl, t.DomainName, t.Stage, t.APIID}
	p.mu.Lock()
	c, ok := p.targets[key]
	p.mu.Unlock()
	if ok {
		return c, nil
	}
	endpoint, err := resolveEndpoint(tmpl, source, t)
	if err != nil {
		return nil, fmt.Errorf("lawcket: post to %s: %w", t.ConnectionID, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.clients[endpoint]; ok {
		p.targets[key] = c
		return c, nil
	}
	cfg, err := p.configLocked(ctx)
	if err != nil {
		return nil, err
	}
	region := cfg.Region
	if region == "" {
		region = regionOf(endpoint)
	}
	if region == "" {
		return nil, fmt.Errorf("lawcket: no AWS region for %s: set AWS_REGION (SigV4 signs with the region)", endpoint)
	}
	c = apigatewaymanagementapi.NewFromConfig(cfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.Region = region
		for _, fn := range p.clientOptions {
			fn(o)
		}
		if p.noThrottle && o.Retryer != nil {
			o.Retryer = noThrottleRetryer{o.Retryer}
		}
	})
	p.clients[endpoint] = c
	p.targets[key] = c
	return c, nil
}

// endpointTemplate is the endpoint template in force and where it comes
// from: override, else $LAWCKET_MANAGEMENT_ENDPOINT, else the default.
func endpointTemplate(override string) (tmpl, source string) {
	tmpl, source = override, "WithPosterEndpoint"
	if tmpl == "" {
		tmpl, source = os.Getenv(EnvManagementEndpoint), EnvManagementEndpoint
	}
	if tmpl == "" {
		tmpl, source = defaultEndpoint, "default"
	}
	return tmpl, source
}

// resolveEndpoint fills tmpl for t, refusing an endpoint with an empty part.
func resolveEndpoint(tmpl, source string, t Target) (string, error) {
	for _, ph := range []struct{ name, value string }{{"{domainName}", t.DomainName}, {"{stage}", t.Stage}, {"{apiId}", t.APIID}} {
		if ph.value == "" && strings.Contains(tmpl, ph.name) {
			return "", fmt.Errorf("management endpoint %q (%s) needs %s but the target has none", tmpl, source, ph.name)
		}
	}
	endpoint := ManagementEndpoint(tmpl, t.DomainName, t.Stage, t.APIID)
	if err := checkEndpoint(endpoint); err != nil {
		return "", fmt.Errorf("%w (%s)", err, source)
	}
	return endpoint, nil
}

// noThrottleRetryer is the SDK's retryer except that a throttle (429,
// LimitExceededException) is not retried.
type noThrottleRetryer struct{ aws.Retryer }

func (r noThrottleRetryer) IsErrorRetryable(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode() == "LimitExceededException" || apiErr.ErrorCode() == "TooManyRequestsException") {
		return false
	}
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) && respErr.HTTPStatusCode() == http.StatusTooManyRequests {
		return false
	}
	return r.Retryer.IsErrorRetryable(err)
}

// GetAttemptToken keeps aws.RetryerV2 behaviour when the wrapped retryer has it.
func (r noThrottleRetryer) GetAttemptToken(ctx context.Context) (func(error) error, error) {
	if v2, ok := r.Retryer.(aws.RetryerV2); ok {
		return v2.GetAttemptToken(ctx)
	}
	return r.Retryer.GetInitialToken(), nil
}

var executeAPIHost = regexp.MustCompile(`\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$`)

// regionOf returns the region in an execute-api host name, or "".
func regionOf(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	if m := executeAPIHost.FindStringSubmatch(u.Hostname()); m != nil {
		return m[1]
	}
	return ""
}

var placeholders = strings.NewReplacer("{domainName}", "x.example", "{stage}", "stage", "{apiId}", "api")

// checkEndpoint reports whether a (template) endpoint is an http(s) URL
// with a host.
func checkEndpoint(endpoint string) error {
	u, err := url.Parse(placeholders.Replace(endpoint))
	if err != nil {
		return fmt.Errorf("management endpoint %q: %w", endpoint, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("management endpoint %q: want http(s)://host[/path], e.g. https://{domainName}/{stage}", endpoint)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("management endpoint %q: must not have a query or fragment", endpoint)
	}
	return nil
}

// ManagementEndpoint returns the Management API endpoint for a connection:
// override (or $LAWCKET_MANAGEMENT_ENDPOINT when override is empty) with its
// {domainName}, {stage} and {apiId} placeholders filled; else
// https://{domainName}/{stage}. The endpoint includes the stage path, as in
// https://abc123.execute-api.eu-west-1.amazonaws.com/prod or
// http://127.0.0.1:8080/local; a value without placeholders is used as it
// is. A trailing slash is removed.
//
// Behind a custom domain, domainName is the custom one, which may not reach
// the Management API: use
// "https://{apiId}.execute-api.REGION.amazonaws.com/{stage}".
func ManagementEndpoint(override, domainName, stage, apiID string) string {
	tmpl, _ := endpointTemplate(override)
	r := strings.NewReplacer("{domainName}", domainName, "{stage}", stage, "{apiId}", apiID)
	return strings.TrimSuffix(r.Replace(tmpl), "/")
}
