package mgmt

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
)

// API is the part of the SDK's Management API client the Client calls.
// *apigatewaymanagementapi.Client implements it.
type API interface {
	PostToConnection(ctx context.Context, in *apigatewaymanagementapi.PostToConnectionInput, optFns ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.PostToConnectionOutput, error)
	GetConnection(ctx context.Context, in *apigatewaymanagementapi.GetConnectionInput, optFns ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.GetConnectionOutput, error)
	DeleteConnection(ctx context.Context, in *apigatewaymanagementapi.DeleteConnectionInput, optFns ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.DeleteConnectionOutput, error)
}

// DefaultMaxIdleConnsPerHost is how many idle connections per endpoint the
// HTTP client of the SDK clients keeps (the SDK keeps 10), so that a
// broadcast's concurrent posts reuse their TLS connections.
const DefaultMaxIdleConnsPerHost = 64

// Client calls the API Gateway Management API for any target. It builds one
// SDK client per endpoint, on first use, and keeps it; the AWS config is
// loaded once, on the first call that needs it. A Client is safe for
// concurrent use; build one per process and share it (the App's and a
// broadcast's).
type Client struct {
	endpoint      string // template; "" means LAWCKET_MANAGEMENT_ENDPOINT, else DefaultEndpoint
	fixed         API
	clientOptions []func(*apigatewaymanagementapi.Options)
	retry         Retry

	mu      sync.Mutex
	cfg     aws.Config
	loaded  bool
	clients map[string]*apigatewaymanagementapi.Client // by endpoint
	targets map[targetKey]*apigatewaymanagementapi.Client
}

// targetKey is what a target's endpoint depends on: the template in force
// (the environment variable is read on every call, so a change still takes
// effect) and the target's placeholder values.
type targetKey struct{ tmpl, domainName, stage, apiID string }

// Option configures a Client.
type Option func(*Client) error

// New returns a Client. It does no I/O: unless WithAWSConfig or WithAPI is
// given, the default AWS config (region, credentials chain) is loaded on the
// first call, and a failure to load it is that call's error (and retried by
// the next). Invalid options are an error.
func New(opts ...Option) (*Client, error) {
	c := &Client{clients: map[string]*apigatewaymanagementapi.Client{}, targets: map[targetKey]*apigatewaymanagementapi.Client{}}
	var errs []error
	for _, o := range opts {
		if o == nil {
			errs = append(errs, errors.New("mgmt: nil Option"))
			continue
		}
		if err := o(c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// WithEndpoint fixes the endpoint template for every target, instead of
// LAWCKET_MANAGEMENT_ENDPOINT or DefaultEndpoint (see Endpoint).
func WithEndpoint(template string) Option {
	return func(c *Client) error {
		if err := CheckEndpoint(template); err != nil {
			return fmt.Errorf("mgmt: WithEndpoint: %w", err)
		}
		c.endpoint = template
		return nil
	}
}

// WithAWSConfig uses cfg (region, credentials, HTTP client) for the SDK
// clients instead of loading the default config. Its Retryer is replaced
// per call by the Retry policy.
func WithAWSConfig(cfg aws.Config) Option {
	return func(c *Client) error {
		c.cfg, c.loaded = cfg, true
		return nil
	}
}

// WithAPI sends every call through api (tests, custom clients); the
// endpoint and AWS config are then not used. The Retry policy is passed to
// api as per-operation options, which an SDK client applies.
func WithAPI(api API) Option {
	return func(c *Client) error {
		if api == nil {
			return errors.New("mgmt: WithAPI: nil API")
		}
		c.fixed = api
		return nil
	}
}

// WithClientOptions adds functions applied to the options of every SDK
// client the Client builds (HTTP client, logging, ...). A Retryer set here
// is replaced per call by the Retry policy.
func WithClientOptions(fns ...func(*apigatewaymanagementapi.Options)) Option {
	return func(c *Client) error {
		c.clientOptions = append(c.clientOptions, fns...)
		return nil
	}
}

// WithRetry sets the Retry policy of calls that give none (default Retry{}:
// 3 attempts, at most once for posts).
func WithRetry(r Retry) Option {
	return func(c *Client) error {
		if err := r.Check(); err != nil {
			return err
		}
		c.retry = r
		return nil
	}
}

// Result says how a call went.
type Result struct {
	// Attempts is the number of HTTP attempts made; Attempts-1 were resends.
	Attempts int
	// Throttled is the number of attempts answered 429 LimitExceeded.
	Throttled int
}

// Post sends data to the target's connection (PostToConnection) under the
// Retry policy (WithRetry, or a Retry among opts). Its Result counts the
// HTTP attempts, also when it fails. Errors are *Error values: errors.Is
// finds ErrGone, ErrForbidden, ErrPayloadTooLarge, ErrLimitExceeded (still
// throttled after the retries) or ErrAmbiguous (the payload may have been
// delivered), and the SDK's error for errors.As.
func (c *Client) Post(ctx context.Context, t Target, data []byte, opts ...CallOption) (Result, error) {
	cl, err := c.prepare(ctx, OpPost, t, opts)
	if err != nil {
		return Result{}, err
	}
	if data == nil {
		data = []byte{} // an empty frame; the SDK refuses a nil Data
	}
	_, err = cl.api.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(t.ConnectionID),
		Data:         data,
	}, cl.call.optFns()...)
	if err != nil {
		return cl.call.result(), cl.call.fail(t.ConnectionID, err)
	}
	return cl.call.result(), nil
}

// Connection is what GetConnection says about a connection.
type Connection struct {
	ConnectedAt  time.Time // UTC
	LastActiveAt time.Time // UTC
	SourceIP     string
	UserAgent    string
}

// Get reads the target's connection (GetConnection). A connection that no
// longer exists is ErrGone.
func (c *Client) Get(ctx context.Context, t Target, opts ...CallOption) (Connection, error) {
	cl, err := c.prepare(ctx, OpGet, t, opts)
	if err != nil {
		return Connection{}, err
	}
	out, err := cl.api.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(t.ConnectionID)}, cl.call.optFns()...)
	if err != nil {
		return Connection{}, cl.call.fail(t.ConnectionID, err)
	}
	conn := Connection{ConnectedAt: aws.ToTime(out.ConnectedAt).UTC(), LastActiveAt: aws.ToTime(out.LastActiveAt).UTC()}
	if out.ConnectedAt == nil {
		conn.ConnectedAt = time.Time{}
	}
	if out.LastActiveAt == nil {
		conn.LastActiveAt = time.Time{}
	}
	if out.Identity != nil {
		conn.SourceIP, conn.UserAgent = aws.ToString(out.Identity.SourceIp), aws.ToString(out.Identity.UserAgent)
	}
	return conn, nil
}

// Delete closes the target's connection (DeleteConnection); API Gateway
// then sends its $disconnect. A connection already gone is ErrGone.
func (c *Client) Delete(ctx context.Context, t Target, opts ...CallOption) error {
	cl, err := c.prepare(ctx, OpDelete, t, opts)
	if err != nil {
		return err
	}
	_, err = cl.api.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(t.ConnectionID)}, cl.call.optFns()...)
	if err != nil {
		return cl.call.fail(t.ConnectionID, err)
	}
	return nil
}

type prepared struct {
	api  API
	call *call
}

// prepare checks the target, picks the SDK client and the policy.
func (c *Client) prepare(ctx context.Context, op Op, t Target, opts []CallOption) (prepared, error) {
	fail := func(err error) (prepared, error) {
		return prepared{}, &Error{Op: op, ConnectionID: t.ConnectionID, Err: err}
	}
	if t.ConnectionID == "" {
		return fail(errors.New("target has no connection id"))
	}
	cc := callConfig{retry: c.retry}
	for _, o := range opts {
		if o == nil {
			return fail(errors.New("nil CallOption"))
		}
		o.applyCall(&cc)
	}
	if err := cc.retry.Check(); err != nil {
		return fail(err)
	}
	api, err := c.client(ctx, t)
	if err != nil {
		return fail(err)
	}
	return prepared{api: api, call: newCall(ctx, op, cc)}, nil
}

// config returns the AWS config, loading the default one on first use.
func (c *Client) configLocked(ctx context.Context) (aws.Config, error) {
	if c.loaded {
		return c.cfg, nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		// Not cached: a later call may succeed (e.g. a transient IMDS failure).
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	c.cfg, c.loaded = cfg, true
	return cfg, nil
}

// client returns the cached SDK client for t's endpoint, building it once.
func (c *Client) client(ctx context.Context, t Target) (API, error) {
	if c.fixed != nil {
		return c.fixed, nil
	}
	tmpl, source := endpointTemplate(c.endpoint)
	key := targetKey{tmpl, t.DomainName, t.Stage, t.APIID}
	c.mu.Lock()
	cl, ok := c.targets[key]
	c.mu.Unlock()
	if ok {
		return cl, nil
	}
	endpoint, err := resolveEndpoint(tmpl, source, t)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.clients[endpoint]; ok {
		c.targets[key] = cl
		return cl, nil
	}
	cfg, err := c.configLocked(ctx)
	if err != nil {
		return nil, err
	}
	region := cfg.Region
	if region == "" {
		region = regionOf(endpoint)
	}
	if region == "" {
		return nil, fmt.Errorf("no AWS region for %s: set AWS_REGION (SigV4 signs with the region)", endpoint)
	}
	cl = apigatewaymanagementapi.NewFromConfig(cfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.Region = region
		if b, ok := o.HTTPClient.(*awshttp.BuildableClient); ok {
			o.HTTPClient = b.WithTransportOptions(func(tr *http.Transport) {
				tr.MaxIdleConnsPerHost = max(tr.MaxIdleConnsPerHost, DefaultMaxIdleConnsPerHost)
				tr.MaxIdleConns = max(tr.MaxIdleConns, DefaultMaxIdleConnsPerHost)
			})
		}
		for _, fn := range c.clientOptions {
			fn(o)
		}
	})
	c.clients[endpoint] = cl
	c.targets[key] = cl
	return cl, nil
}
