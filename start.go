package lawcket

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

// Start runs the App as a Lambda function (lambda.StartWithOptions with the
// App as its lambda.Handler, see Invoke). It does not return.
//
// A misconfigured App does not start: Start logs every configuration error
// (App.Err), one record each, reports the init error to the Lambda Runtime
// API when there is one, and exits with status 1 (see FailInit), so Lambda
// reports a failed init instead of answering every event 500.
//
// opts are aws-lambda-go's options. WithContext, WithContextValue and
// WithEnableSIGTERM apply; the JSON options (WithSetEscapeHTML,
// WithSetIndent, WithUseNumber, WithDisallowUnknownFields) do not, since
// the App decodes and encodes its events itself.
func (a *App) Start(opts ...lambda.Option) {
	if err := a.Err(); err != nil {
		failInit(a.logger, "lawcket: not starting: invalid configuration", err)
	}
	lambda.StartWithOptions(a, opts...)
}

// FailInit ends a Lambda function's initialisation with err, for a main
// that cannot build its App (a spec that does not load, a missing setting):
// it logs err to slog.Default() — each error of an errors.Join as its own
// record — reports it to the Lambda Runtime API as an init error (errorType
// lawcket.InitError) when AWS_LAMBDA_RUNTIME_API is set, and exits with
// status 1, so Lambda reports a failed init instead of a function that
// answers every event with an error. App.Start does the same for an App
// with configuration errors. It does not return.
func FailInit(err error) { failInit(slog.Default(), "lawcket: init failed", err) }

func failInit(logger *slog.Logger, msg string, err error) {
	if err == nil {
		err = errors.New("lawcket: FailInit with a nil error")
	}
	errs := []error{err}
	var joined interface{ Unwrap() []error }
	for errors.As(errs[0], &joined) && len(errs) == 1 {
		errs = joined.Unwrap()
	}
	for _, e := range errs {
		logger.Error(msg, "error", e)
	}
	if api := os.Getenv("AWS_LAMBDA_RUNTIME_API"); api != "" {
		if rerr := reportInitError(api, err); rerr != nil {
			logger.Error("lawcket: could not report the init error to the Lambda Runtime API", "error", rerr)
		}
	}
	os.Exit(1)
}

// reportInitError posts err to the Runtime API's /init/error, so the
// invocation that triggered the init reports it (errorType
// lawcket.InitError) rather than only "exit status 1". aws-lambda-go does not
// expose this call.
func reportInitError(api string, err error) error {
	body, jerr := json.Marshal(map[string]any{"errorMessage": err.Error(), "errorType": "lawcket.InitError"})
	if jerr != nil {
		return jerr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, rerr := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+api+"/2018-06-01/runtime/init/error", bytes.NewReader(body))
	if rerr != nil {
		return rerr
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Lambda-Runtime-Function-Error-Type", "lawcket.InitError")
	resp, derr := http.DefaultClient.Do(req)
	if derr != nil {
		return derr
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("runtime API answered %s", resp.Status)
	}
	return nil
}

// Invoke serves one raw Lambda payload: the App is a lambda.Handler, which
// is what Start runs. It decodes the payload itself, so an event whose JSON
// has a wrong type (a numeric connectionId, connectedAt as a string) or is
// not JSON at all is answered 400 naming the field, without a Go error —
// like any other malformed event — instead of failing in aws-lambda-go's
// decoder as a Lambda error before lawcket runs. The response is the JSON of
// an events.APIGatewayProxyResponse; the error is the one Handler's function
// returns.
func (a *App) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var req events.APIGatewayWebsocketProxyRequest
	var resp events.APIGatewayProxyResponse
	var err error
	if derr := json.Unmarshal(payload, &req); derr != nil {
		resp = a.undecodable(payload, derr)
	} else {
		resp, err = a.serve(ctx, req)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // as aws-lambda-go's default
	if eerr := enc.Encode(resp); eerr != nil {
		return nil, errors.Join(err, fmt.Errorf("lawcket: encode response: %w", eerr))
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), err
}

// undecodable answers a payload that is not a WebSocket event's JSON: 400
// with the decoder's reason, logged with whatever ids can still be read.
func (a *App) undecodable(payload []byte, derr error) events.APIGatewayProxyResponse {
	reason := "event is not valid JSON: " + derr.Error()
	var te *json.UnmarshalTypeError
	if errors.As(derr, &te) {
		field := te.Field
		if field == "" {
			field = "the event"
		}
		reason = fmt.Sprintf("event field %s: JSON %s where %s is expected", field, te.Value, te.Type)
	}
	// Read the ids leniently, for the log line only.
	var loose struct {
		RequestContext map[string]any `json:"requestContext"`
	}
	_ = json.Unmarshal(payload, &loose)
	str := func(k string) string { s, _ := loose.RequestContext[k].(string); return s }
	inv := &invocation{app: a, connectionID: str("connectionId"), requestID: str("requestId"), routeKey: str("routeKey")}
	inv.log().Warn("lawcket: malformed event", "error", reason)
	return textResponse(http.StatusBadRequest, reason)
}
