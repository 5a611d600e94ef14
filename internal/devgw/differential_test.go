package devgw_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/lawcket/lawcket/internal/devgw"
)

// recordEnv makes the test binary a custom runtime that appends every raw
// event it is invoked with to the file it names (one JSON document a line)
// and answers 200: the events exactly as the gateway sends them, not as a
// Go struct re-encodes them.
const recordEnv = "DEVGW_TEST_RECORD_EVENTS"

func recordRuntime() int {
	base := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/invocation/"
	f, err := os.OpenFile(os.Getenv(recordEnv), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for {
		resp, err := http.Get(base + "next")
		if err != nil {
			return 1
		}
		payload, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var line bytes.Buffer
		if err := json.Compact(&line, payload); err != nil {
			fmt.Fprintln(os.Stderr, "not JSON:", err)
			return 1
		}
		line.WriteByte('\n')
		f.Write(line.Bytes())
		r, err := http.Post(base+resp.Header.Get("Lambda-Runtime-Aws-Request-Id")+"/response", "application/json", strings.NewReader(`{"statusCode":200}`))
		if err != nil {
			return 1
		}
		r.Body.Close()
	}
}

// captures are AWS's own WebSocket events as aws-lambda-go's tests carry
// them (events/testdata, Apache-2.0), read from the module cache.
func captures(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-lambda-go").Output()
	if err != nil {
		t.Fatalf("go list -m github.com/aws/aws-lambda-go: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "events", "testdata")
}

// shape flattens a JSON document into path → JSON kind. The keys of maps
// that hold data (headers, query strings, stage variables, the authorizer
// context) are not part of the shape: only that they are objects of
// strings (or of string arrays).
func shape(doc map[string]any) map[string]string {
	dataMaps := map[string]bool{"headers": true, "multiValueHeaders": true, "queryStringParameters": true,
		"multiValueQueryStringParameters": true, "stageVariables": true, "pathParameters": true}
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if dataMaps[prefix] {
				kinds := map[string]bool{}
				for _, e := range x {
					kinds[kind(e)] = true
				}
				var ks []string
				for k := range kinds {
					ks = append(ks, k)
				}
				sort.Strings(ks)
				out[prefix] = "object of " + strings.Join(ks, "|")
				return
			}
			out[prefix] = "object"
			for k, e := range x {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, e)
			}
		default:
			out[prefix] = kind(v)
		}
	}
	walk("", doc)
	delete(out, "")
	return out
}

func kind(v any) string {
	switch x := v.(type) {
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	case []any:
		if len(x) > 0 {
			return "array of " + kind(x[0])
		}
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func decode(t *testing.T, data []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%v: %s", err, data)
	}
	return m
}

// TestEventsMatchAWSCaptures compares the key sets and value types of the
// $connect, message and $disconnect events the gateway sends with AWS's
// captures. The message and $disconnect captures are real events: the
// shapes must be equal. The $connect fixture mixes in REST API fields
// (resource, path, httpMethod, pathParameters, accountId, ...) and an
// authorizer: every key the gateway sends must be in it with the same type,
// and the fixture's WebSocket keys the gateway omits are listed here.
func TestEventsMatchAWSCaptures(t *testing.T) {
	dir := captures(t)
	file := filepath.Join(t.TempDir(), "events")
	t.Setenv(recordEnv, file)
	g, _ := start(t, devgw.Config{Command: []string{os.Args[0], "-test.run=^$"}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := http.Header{"User-Agent": {"Mozilla/5.0 (differential test)"}}
	c, _, err := websocket.Dial(ctx, g.URL()+"?name=me", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("{\r\n\t\"a\": 1\r\n}")); err != nil {
		t.Fatal(err)
	}
	// The message is delivered before the close is read (one reader, in
	// order), so the three events arrive in this order.
	c.Close(websocket.StatusGoingAway, "")
	var lines []string
	for deadline := time.Now().Add(20 * time.Second); len(lines) < 3; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("recorded %d events, want 3", len(lines))
		}
		data, _ := os.ReadFile(file)
		lines = strings.Split(strings.TrimSpace(string(data)), "\n")
		if lines[0] == "" {
			lines = nil
		}
	}

	for i, tt := range []struct {
		fixture string
		exact   bool
		// keys of the fixture the gateway does not send, and why
		omitted map[string]string
	}{
		{"apigw-websocket-request.json", false, map[string]string{
			"requestContext.authorizer": "sent only when a $connect authorizer ran (Config.BeforeConnect)",
			"requestContext.error":      "a field of API Gateway's logging context, not of a successful $connect",
			"requestContext.status":     "likewise",
			// a Lambda authorizer's output: present only with an authorizer
			"requestContext.integrationLatency": "sent by an authorizer only (inside requestContext.authorizer)",
			"stageVariables":                    "sent only when the stage has stage variables (none locally)",
			"body":                              "$connect has no body; the fixture's is from a REST event",
		}},
		{"apigw-websocket-request-send-message.json", true, nil},
		{"apigw-websocket-request-disconnect.json", true, nil},
	} {
		t.Run(tt.fixture, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			want := shape(decode(t, raw))
			got := shape(decode(t, []byte(lines[i])))
			restOnly := func(p string) bool { // REST API fields in the $connect fixture
				for _, r := range []string{"resource", "path", "httpMethod", "pathParameters", "requestContext.accountId",
					"requestContext.resourceId", "requestContext.resourcePath", "requestContext.httpMethod", "requestContext.identity."} {
					if p == r || (strings.HasSuffix(r, ".") && strings.HasPrefix(p, r) && p != "requestContext.identity.sourceIp" && p != "requestContext.identity.userAgent") {
						return true
					}
				}
				return false
			}
			for p, k := range got {
				if want[p] == "" {
					t.Errorf("the gateway sends %s (%s), which AWS's capture does not have", p, k)
				} else if want[p] != k {
					t.Errorf("%s: the gateway sends a %s, AWS a %s", p, k, want[p])
				}
			}
			for p, k := range want {
				if got[p] != "" {
					continue
				}
				if tt.exact {
					t.Errorf("AWS sends %s (%s); the gateway does not", p, k)
				} else if _, ok := tt.omitted[p]; !ok && !restOnly(p) && !strings.HasPrefix(p, "requestContext.authorizer.") {
					t.Errorf("AWS sends %s (%s); the gateway does not, and it is not a listed difference", p, k)
				}
			}
			// Header names (the data maps' keys): $disconnect's exactly,
			// $connect's those every client sends, ignoring case.
			wantHeaders, _ := decode(t, raw)["multiValueHeaders"].(map[string]any)
			gotHeaders, _ := decode(t, []byte(lines[i]))["multiValueHeaders"].(map[string]any)
			names := func(m map[string]any, fold bool) []string {
				var out []string
				for k := range m {
					if fold {
						k = strings.ToLower(k)
					}
					if k != "sec-websocket-extensions" { // only clients that offer compression send it
						out = append(out, k)
					}
				}
				sort.Strings(out)
				return out
			}
			if tt.exact {
				if w, g := names(wantHeaders, false), names(gotHeaders, false); strings.Join(w, ",") != strings.Join(g, ",") {
					t.Errorf("multiValueHeaders %v, AWS %v", g, w)
				}
			} else {
				have := map[string]bool{}
				for _, k := range names(gotHeaders, true) {
					have[k] = true
				}
				for _, k := range names(wantHeaders, true) {
					if !have[k] {
						t.Errorf("AWS sends header %s on $connect; the gateway does not", k)
					}
				}
			}
			for p := range tt.omitted {
				if got[p] != "" {
					t.Errorf("%s is listed as not sent, but the gateway sends it", p)
				}
			}
		})
	}
}
