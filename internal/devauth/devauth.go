package devauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lawcket/lawcket/internal/runtimeapi"
)

// MaxContextSize is the largest authorizer context, in bytes of JSON, that
// API Gateway accepts (8 KB).
const MaxContextSize = 8 << 10

// Invoker runs the authorizer function with a raw event and returns its raw
// answer (a *runtimeapi.Function, or a devgw.Function, satisfies it).
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

// Config configures an Authorizer. Invoker is required.
type Config struct {
	// Name names the authorizer in logs.
	Name string
	// IdentitySource lists what must be present and non-empty:
	// route.request.header.NAME (any case), route.request.querystring.NAME,
	// stageVariables.NAME. Other entries (context.NAME) are not checked.
	IdentitySource []string
	// Invoker runs the authorizer function.
	Invoker Invoker
	// Region and AccountID go into methodArn (defaults us-east-1 and
	// 000000000000).
	Region, AccountID string
	// StageVariables are the stage's variables (stageVariables in the
	// authorizer event, always present, {} when empty).
	StageVariables map[string]string
}

// Authorizer is a Lambda REQUEST authorizer on $connect.
type Authorizer struct {
	cfg Config
}

// New validates cfg.
func New(cfg Config) (*Authorizer, error) {
	if cfg.Invoker == nil {
		return nil, errors.New("devauth: no Invoker")
	}
	for _, s := range cfg.IdentitySource {
		if _, _, ok := identitySource(s); !ok && !strings.HasPrefix(s, "context.") {
			return nil, fmt.Errorf("devauth: identity source %q: want route.request.header.NAME, route.request.querystring.NAME or stageVariables.NAME", s)
		}
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.AccountID == "" {
		cfg.AccountID = "000000000000"
	}
	if cfg.StageVariables == nil {
		cfg.StageVariables = map[string]string{}
	}
	return &Authorizer{cfg: cfg}, nil
}

// Decision is the outcome of Authorize.
type Decision struct {
	// Allowed: the client may connect; Context is then
	// requestContext.authorizer for its events.
	Allowed bool
	// Status is the handshake's answer when not Allowed: 401, 403 or 500.
	Status int
	// Message is the body's message ({"message": ...}), as API Gateway
	// words it: Unauthorized, Forbidden, Internal server error.
	Message string
	// Reason says why, for the gateway's log (never sent to the client).
	Reason string
	// Context is requestContext.authorizer: principalId,
	// integrationLatency and the stringified context.
	Context map[string]any
}

func refuse(status int, reason string, args ...any) Decision {
	msg := map[int]string{
		http.StatusUnauthorized: "Unauthorized",
		http.StatusForbidden:    "Forbidden",
	}[status]
	if msg == "" {
		msg = "Internal server error"
	}
	return Decision{Status: status, Message: msg, Reason: fmt.Sprintf(reason, args...)}
}

// Request is a WebSocket REQUEST authorizer event. aws-lambda-go has no
// type for it: its APIGatewayCustomAuthorizerRequestTypeRequest is the REST
// API's (path, resource, httpMethod and a REST requestContext, none of them
// omitted when empty); the WebSocket one carries the $connect
// requestContext instead, which is aws-lambda-go's
// APIGatewayWebsocketProxyRequestContext.
type Request struct {
	Type                            string                                        `json:"type"`
	MethodArn                       string                                        `json:"methodArn"`
	Headers                         map[string]string                             `json:"headers"`
	MultiValueHeaders               map[string][]string                           `json:"multiValueHeaders"`
	QueryStringParameters           map[string]string                             `json:"queryStringParameters,omitempty"`
	MultiValueQueryStringParameters map[string][]string                           `json:"multiValueQueryStringParameters,omitempty"`
	StageVariables                  map[string]string                             `json:"stageVariables"`
	RequestContext                  events.APIGatewayWebsocketProxyRequestContext `json:"requestContext"`
}

// MethodARN is the methodArn of $connect for the event's API and stage.
func (a *Authorizer) MethodARN(rc *events.APIGatewayWebsocketProxyRequestContext) string {
	return "arn:aws:execute-api:" + a.cfg.Region + ":" + a.cfg.AccountID + ":" + rc.APIID + "/" + rc.Stage + "/$connect"
}

// NewRequest builds the authorizer event for a $connect event.
func (a *Authorizer) NewRequest(connect *events.APIGatewayWebsocketProxyRequest) *Request {
	req := &Request{
		Type:                            "REQUEST",
		MethodArn:                       a.MethodARN(&connect.RequestContext),
		Headers:                         make(map[string]string, len(connect.Headers)+2),
		MultiValueHeaders:               make(map[string][]string, len(connect.MultiValueHeaders)+2),
		QueryStringParameters:           connect.QueryStringParameters,
		MultiValueQueryStringParameters: connect.MultiValueQueryStringParameters,
		StageVariables:                  a.cfg.StageVariables,
		RequestContext:                  connect.RequestContext,
	}
	req.RequestContext.Authorizer = nil
	for k, v := range connect.Headers {
		req.Headers[k] = v
	}
	for k, v := range connect.MultiValueHeaders {
		req.MultiValueHeaders[k] = v
	}
	// The authorizer sees the handshake's Connection and Upgrade headers
	// (the developer guide's example), which $connect does not.
	for k, v := range map[string]string{"Connection": "upgrade", "Upgrade": "websocket"} {
		if headerValue(req.Headers, k) == "" {
			req.Headers[k] = v
			req.MultiValueHeaders[k] = []string{v}
		}
	}
	return req
}

// Authorize runs the authorizer for a $connect event.
func (a *Authorizer) Authorize(ctx context.Context, connect *events.APIGatewayWebsocketProxyRequest) Decision {
	for _, s := range a.cfg.IdentitySource {
		if !a.present(s, connect) {
			return refuse(http.StatusUnauthorized, "identity source %s is missing or empty", s)
		}
	}
	req := a.NewRequest(connect)
	payload, err := json.Marshal(req)
	if err != nil {
		return refuse(http.StatusInternalServerError, "encode the authorizer event: %v", err)
	}
	start := time.Now()
	out, err := a.cfg.Invoker.Invoke(ctx, payload)
	latency := time.Since(start).Milliseconds()
	if err != nil {
		// An authorizer that fails with the message "Unauthorized" (Node's
		// callback("Unauthorized"), Go's errors.New("Unauthorized")) is how
		// a Lambda authorizer answers 401.
		var fe *runtimeapi.FunctionError
		if errors.As(err, &fe) && fe.Message == "Unauthorized" {
			return refuse(http.StatusUnauthorized, "the authorizer answered Unauthorized")
		}
		return refuse(http.StatusInternalServerError, "authorizer failed: %v", err)
	}
	return decide(out, req.MethodArn, latency)
}

// present reports whether identity source s has a non-empty value.
func (a *Authorizer) present(s string, ev *events.APIGatewayWebsocketProxyRequest) bool {
	kind, name, ok := identitySource(s)
	if !ok {
		return true // context.NAME: always set by API Gateway
	}
	switch kind {
	case "header":
		return headerValue(ev.Headers, name) != ""
	case "querystring":
		return ev.QueryStringParameters[name] != ""
	default:
		return a.cfg.StageVariables[name] != ""
	}
}

func identitySource(s string) (kind, name string, ok bool) {
	for _, k := range []string{"header", "querystring"} {
		if n, found := strings.CutPrefix(s, "route.request."+k+"."); found && n != "" {
			return k, n, true
		}
	}
	if n, found := strings.CutPrefix(s, "stageVariables."); found && n != "" {
		return "stage", n, true
	}
	return "", "", false
}

func headerValue(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// response is an authorizer's answer. Its policy's Action and Resource
// may each be a string or a list (IAM's grammar), which aws-lambda-go's
// IAMPolicyStatement ([]string only) cannot decode, so the statement is
// decoded here.
type response struct {
	PrincipalID    *string `json:"principalId"`
	PolicyDocument *struct {
		Version   string      `json:"Version"`
		Statement []statement `json:"Statement"`
	} `json:"policyDocument"`
	Context map[string]json.RawMessage `json:"context"`
}

type statement struct {
	Effect   string       `json:"Effect"`
	Action   stringOrList `json:"Action"`
	Resource stringOrList `json:"Resource"`
}

type stringOrList []string

func (s *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return errors.New("want a string or a list of strings")
	}
	*s = list
	return nil
}

// decide reads the authorizer's answer.
func decide(out []byte, methodARN string, latency int64) Decision {
	var resp response
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(&resp); err != nil {
		return refuse(http.StatusForbidden, "the authorizer's answer is not an authorizer response: %v", err)
	}
	if resp.PrincipalID == nil {
		return refuse(http.StatusForbidden, "the authorizer's answer has no principalId")
	}
	if resp.PolicyDocument == nil || len(resp.PolicyDocument.Statement) == 0 {
		return refuse(http.StatusForbidden, "the authorizer's answer has no policyDocument statements")
	}
	allowed := false
	for _, st := range resp.PolicyDocument.Statement {
		if !matchesAny(st.Action, "execute-api:Invoke") || !matchesAny(st.Resource, methodARN) {
			continue
		}
		switch st.Effect {
		case "Deny":
			return refuse(http.StatusForbidden, "the policy denies %s", methodARN)
		case "Allow":
			allowed = true
		}
	}
	if !allowed {
		return refuse(http.StatusForbidden, "no statement of the policy allows execute-api:Invoke on %s", methodARN)
	}
	auth, err := authorizerContext(*resp.PrincipalID, latency, resp.Context)
	if err != nil {
		return refuse(http.StatusInternalServerError, "%v", err)
	}
	return Decision{Allowed: true, Status: http.StatusOK, Context: auth}
}

// matchesAny reports whether one of patterns matches s, with IAM's
// wildcards: * any run of characters (slashes too), ? one character.
func matchesAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if glob(p, s) {
			return true
		}
	}
	return false
}

func glob(p, s string) bool {
	// Iterative, with one backtrack point: linear in practice, never
	// exponential in the number of stars.
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// authorizerContext is requestContext.authorizer: principalId,
// integrationLatency and the context with its values stringified.
func authorizerContext(principal string, latency int64, ctx map[string]json.RawMessage) (map[string]any, error) {
	size := 2 // {}
	out := make(map[string]any, len(ctx)+2)
	for k, raw := range ctx {
		size += len(k) + len(raw) + 4
		v, err := stringify(raw)
		if err != nil {
			return nil, fmt.Errorf("authorizer context %q: %v (API Gateway answers 500 AuthorizerConfigurationException)", k, err)
		}
		out[k] = v
	}
	if size > MaxContextSize {
		return nil, fmt.Errorf("authorizer context is %d bytes of JSON, over API Gateway's %d", size, MaxContextSize)
	}
	out["principalId"] = principal
	out["integrationLatency"] = latency
	return out, nil
}

// stringify is a context value as API Gateway delivers it to a Lambda
// proxy integration: strings as they are, numbers and booleans as their
// JSON text, null as nil; objects and arrays are refused.
func stringify(raw json.RawMessage) (any, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return nil, errors.New("empty value")
	}
	switch t[0] {
	case '"':
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return nil, err
		}
		return s, nil
	case '{', '[':
		return nil, errors.New("an object or array; only strings, numbers and booleans are allowed")
	case 'n':
		return nil, nil
	default: // a number, true or false: its JSON text
		return string(t), nil
	}
}
