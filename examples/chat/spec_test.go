package main

import (
	"errors"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/lawcket/lawcket/eval"
	"github.com/lawcket/lawcket/syncspec"
)

// TestSpec checks the example's lawcket.yaml: the fields each connect gets,
// and which connects are refused.
func TestSpec(t *testing.T) {
	spec, err := syncspec.Load("lawcket.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if spec.Table != "chat-connections" || spec.TTL.Hours() != 2 {
		t.Fatalf("table %q ttl %v; want chat-connections, 2h", spec.Table, spec.TTL)
	}
	if idx := spec.IndexFields(); len(idx) != 1 || idx[0].Name != "room" {
		t.Fatalf("index fields %v; want room", idx)
	}
	tests := []struct {
		name    string
		query   map[string]string
		want    map[string]any
		refused string // the refused field
	}{
		{"user and room", map[string]string{"user": "ann", "room": "r1"}, map[string]any{"user": "ann", "room": "r1"}, ""},
		{"no user", map[string]string{"room": "r1"}, map[string]any{"user": "anonymous", "room": "r1"}, ""},
		{"no query string", nil, nil, "room"},
		{"no room", map[string]string{"user": "ann"}, nil, "room"},
		{"empty room", map[string]string{"room": ""}, nil, "room"},
		{"blank room", map[string]string{"room": "  "}, nil, "room"},
		{"query values are data", map[string]string{"room": `") || true`, "user": "{{env}}"}, map[string]any{"user": "{{env}}", "room": `") || true`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &events.APIGatewayWebsocketProxyRequest{QueryStringParameters: tt.query}
			got, err := spec.Program.Evaluate(req)
			if tt.refused != "" {
				var r *eval.Refusal
				if !errors.As(err, &r) || r.Field != tt.refused {
					t.Fatalf("Evaluate = %v, %v; want a refusal of %s", got, err, tt.refused)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Evaluate = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
