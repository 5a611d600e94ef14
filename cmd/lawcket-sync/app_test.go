package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket/channels"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/internal/dynalitetest"
	"github.com/lawcket/lawcket/syncspec"
)

func TestNewAppErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(badSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LAWCKET_TABLE", "")
	t.Setenv("LAWCKET_TTL", "")
	good := filepath.Join(dir, "lawcket.yaml")
	if err := os.WriteFile(good, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_REGION", "us-east-1")
	for _, tt := range []struct {
		name, path, namespace string
		want                  []string
	}{
		{"missing file", filepath.Join(dir, "none.yaml"), "", []string{"no spec at " + filepath.Join(dir, "none.yaml"), "LAWCKET_CONFIG"}},
		{"invalid spec", bad, "", []string{"invalid spec", bad + ":2:6", bad + ":5:22"}},
		{"invalid metrics namespace", good, "a:b", []string{"LAWCKET_METRICS_NAMESPACE", `"a:b"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newService(context.Background(), func(k string) string {
				switch k {
				case EnvConfig:
					return tt.path
				case EnvMetricsNamespace:
					return tt.namespace
				}
				return ""
			})
			if err == nil {
				t.Fatal("newService succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestScheduledSweep: an EventBridge scheduled event runs a sweep over
// dynalite and a local Management API, removing the gone connection's row
// and subscriptions; a WebSocket event still goes to the App.
func TestScheduledSweep(t *testing.T) {
	endpoint := dynalitetest.Start(t)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB": endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "",
		"AWS_REGION": "us-east-1", "AWS_PROFILE": "", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
		"AWS_EC2_METADATA_DISABLED": "true", "LAWCKET_TABLE": "", "LAWCKET_TTL": "", "LAWCKET_SUBSCRIPTIONS_TABLE": "",
	} {
		t.Setenv(k, v)
	}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/@connections/gone") {
			w.Header().Set("x-amzn-ErrorType", "GoneException")
			w.WriteHeader(http.StatusGone)
			w.Write([]byte(`{"message":null}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	}))
	t.Cleanup(api.Close)
	t.Setenv("LAWCKET_MANAGEMENT_ENDPOINT", api.URL+"/{stage}") // read by the Posters
	dir := t.TempDir()
	specPath := filepath.Join(dir, "lawcket.yaml")
	spec := "table: sweep-conns\nttl: 2h\nfields:\n  user:\n    expr: query.user ?? \"x\"\nchannels:\n  namespaces:\n    rooms: {}\n"
	if err := os.WriteFile(specPath, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	parsed, err := syncspec.Load(specPath)
	if err != nil {
		t.Fatal(err)
	}
	db := dynalitetest.Client(endpoint)
	dynalitetest.CreateTable(t, db, dynamo.TableDefinition(parsed, ""))
	dynalitetest.CreateTable(t, db, channels.TableDefinition(parsed, ""))
	env := map[string]string{EnvConfig: specPath, "LAWCKET_MANAGEMENT_ENDPOINT": api.URL + "/{stage}", EnvSweepRate: "1000"}
	svc, err := newService(context.Background(), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ws := func(body string) {
		t.Helper()
		if _, err := svc.handle(ctx, json.RawMessage(body)); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"live", "gone1"} {
		// Connected an hour ago: the sweep skips connections younger than channels.EstablishWindow.
		ws(`{"requestContext":{"eventType":"CONNECT","routeKey":"$connect","connectionId":"` + id + `","domainName":"d.example","stage":"prod","connectedAt":` + strconv.FormatInt(time.Now().Add(-time.Hour).UnixMilli(), 10) + `}}`)
		ws(`{"body":"{\"action\":\"subscribe\",\"channel\":\"/rooms/a\"}","requestContext":{"eventType":"MESSAGE","routeKey":"subscribe","connectionId":"` + id + `","domainName":"d.example","stage":"prod"}}`)
	}
	out, err := svc.handle(ctx, json.RawMessage(`{"version":"0","id":"1","detail-type":"Scheduled Event","source":"aws.events","account":"1","time":"2026-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	rep := out.(channels.SweepReport)
	if rep.Checked != 2 || rep.Gone != 1 || rep.RowsDeleted != 1 || rep.SubscriptionsDeleted != 1 || strings.Join(rep.Removed, ",") != "gone1" {
		t.Fatalf("sweep report %+v", rep)
	}
	got, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("sweep-conns"), Key: map[string]types.AttributeValue{"connectionId": &types.AttributeValueMemberS{Value: "gone1"}}})
	if err != nil || got.Item != nil {
		t.Fatalf("gone1's row: %v, %v; want deleted", got.Item, err)
	}
}
