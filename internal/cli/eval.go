package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/dynamo"
)

const evalAbout = `
Dry-run the sync: print the row that the connect event in -e would write to
the connections table, as one JSON object on stdout. No AWS call is made.

--format json (the default) prints plain JSON values; --format dynamodb prints
the DynamoDB wire format ({"connectionId":{"S":"..."},...}), as PutItem sends
it. connectedAt comes from the event; --now fixes the clock that expiresAt
(now + ttl) is computed from, so the output is reproducible. "-e -" reads the
event from stdin.

A refused connection prints "refused: STATUS: field NAME: reason" on stderr
and exits 1, as does a message or disconnect event (only connect events write
rows) and an event file that is not valid JSON.`

func runEval(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f := newFlags("eval", "lawcket eval [-c lawcket.yaml] -e event.json [--format json|dynamodb] [--now RFC3339]", evalAbout, stderr)
	config := configFlag(f.FlagSet)
	eventPath := f.String("e", "", "the API Gateway WebSocket `event` JSON file (- for stdin); required")
	format := newChoice("json", "json", "dynamodb")
	f.Var(format, "format", "output `format`: json or dynamodb")
	var now timeFlag
	f.Var(&now, "now", "the `time` the connection is stored at, RFC 3339 (default: the current time)")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	if *eventPath == "" {
		return f.usageError(stderr, "-e is required: the connect event to evaluate")
	}

	spec, ok := loadSpec(*config, stderr)
	if !ok {
		return ExitFindings
	}
	req, err := readEvent(*eventPath, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "lawcket eval: %v\n", err)
		return ExitFindings
	}
	at := now.t
	if at.IsZero() {
		at = time.Now()
	}
	item, err := dynamo.BuildItem(spec, req, at)
	if err != nil {
		// A *lawcket.Rejection refuses the connection; its reason names the field.
		if rej, ok := errors.AsType[*lawcket.Rejection](err); ok {
			fmt.Fprintf(stderr, "refused: %d: %s\n", rej.Status, rej.Reason)
		} else {
			fmt.Fprintf(stderr, "lawcket eval: %v\n", err)
		}
		return ExitFindings
	}
	var out []byte
	if format.value == "dynamodb" {
		out, err = itemWireJSON(item)
	} else {
		out, err = itemJSON(item)
	}
	if err != nil {
		fmt.Fprintf(stderr, "lawcket eval: %v\n", err)
		return ExitFindings
	}
	stdout.Write(out)
	return ExitOK
}

// readEvent reads and decodes the event at path ("-": stdin) and checks that
// it is a $connect event.
func readEvent(path string, stdin io.Reader) (*events.APIGatewayWebsocketProxyRequest, error) {
	var data []byte
	var err error
	name := path
	if path == "-" {
		name = "<stdin>"
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	req, err := decodeEvent(name, data)
	if err != nil {
		return nil, err
	}
	rc := req.RequestContext
	switch rc.EventType {
	case "CONNECT":
		return req, nil
	case "":
		return nil, fmt.Errorf("%s: no requestContext.eventType: not an API Gateway WebSocket event", name)
	default:
		return nil, fmt.Errorf("%s: a %s event (route %s): only connect events write rows", name, rc.EventType, rc.RouteKey)
	}
}

// decodeEvent decodes an API Gateway WebSocket event. A JSON error names
// name:LINE:COL where the decoder stopped.
func decodeEvent(name string, data []byte) (*events.APIGatewayWebsocketProxyRequest, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%s: empty file: want an API Gateway WebSocket event (a JSON object)", name)
	}
	var req events.APIGatewayWebsocketProxyRequest
	err := json.Unmarshal(data, &req)
	if err == nil {
		return &req, nil
	}
	var offset int64 = -1
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		offset = se.Offset - 1 // Offset counts the bytes read, the bad one included
		if se.Error() == "unexpected end of JSON input" {
			offset = int64(len(data)) // the fault is at the end
		}
	} else if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		// Offset is just past the offending value; name it by its JSON path.
		line, col := position(data, int(te.Offset))
		where := te.Field
		if where == "" {
			where = "the event"
		}
		return nil, fmt.Errorf("%s:%d:%d: %s: a JSON %s, want %s", name, line, col, where, te.Value, jsonKind(te.Type))
	}
	if offset < 0 {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	line, col := position(data, int(offset))
	return nil, fmt.Errorf("%s:%d:%d: %w", name, line, col, err)
}

// jsonKind names the JSON value a Go type decodes from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another kind of value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a " + t.String()
}

// position is the 1-based line and column (in bytes) of data[offset].
func position(data []byte, offset int) (line, col int) {
	offset = min(max(offset, 0), len(data))
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = offset - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// itemJSON is item as plain JSON values (strings, numbers, booleans, lists,
// objects), indented, keys sorted. Numbers keep their exact decimal text.
func itemJSON(item map[string]types.AttributeValue) ([]byte, error) {
	var m map[string]any
	err := attributevalue.UnmarshalMapWithOptions(item, &m, func(o *attributevalue.DecoderOptions) {
		o.UseNumber = true
	})
	if err != nil {
		return nil, err
	}
	return indentJSON(jsonNumbers(m))
}

// jsonNumbers turns the attributevalue.Number values UseNumber decodes into
// json.Number, so they encode as JSON numbers with their exact text.
func jsonNumbers(v any) any {
	switch v := v.(type) {
	case attributevalue.Number:
		return json.Number(v)
	case []attributevalue.Number:
		out := make([]json.Number, len(v))
		for i, n := range v {
			out[i] = json.Number(n)
		}
		return out
	case map[string]any:
		for k, e := range v {
			v[k] = jsonNumbers(e)
		}
	case []any:
		for i, e := range v {
			v[i] = jsonNumbers(e)
		}
	}
	return v
}

// itemWireJSON is item in DynamoDB's JSON wire format, as the SDK serializes
// it (attributevalue.MarshalMapJSON), re-encoded indented with sorted keys.
func itemWireJSON(item map[string]types.AttributeValue) ([]byte, error) {
	raw, err := attributevalue.MarshalMapJSON(item)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return indentJSON(v)
}

func indentJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
