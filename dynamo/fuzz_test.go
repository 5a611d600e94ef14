package dynamo_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/dynamo"
)

// FuzzBuildItem: whatever a client puts in its query string and headers,
// BuildItem never panics, either refuses with 400 or returns a row within
// DynamoDB's size limit whose reserved attributes are the request
// context's.
func FuzzBuildItem(f *testing.F) {
	spec := parseSpec(f, fullSpec)
	f.Add("lobby", "ada", "Blue", "connectionId")
	f.Add("", "", "", "")
	f.Add("x", "\x00\xff", "ÉÊ", "expiresAt")
	f.Add("1e400", "null", "[1,2]", "__proto__")
	f.Fuzz(func(t *testing.T, room, user, team, key string) {
		req := &events.APIGatewayWebsocketProxyRequest{
			Headers:               map[string]string{"X-Team": team, key: user},
			QueryStringParameters: map[string]string{"room": room, "user": user, key: team},
			RequestContext: events.APIGatewayWebsocketProxyRequestContext{
				ConnectionID: "c1=", DomainName: "d.example", Stage: "prod", ConnectedAt: 1731324924553,
			},
		}
		item, err := dynamo.BuildItem(spec, req, t0)
		if err != nil {
			var rej *lawcket.Rejection
			if !errors.As(err, &rej) || rej.Status != 400 {
				t.Fatalf("BuildItem: %v (not a 400 refusal)", err)
			}
			return
		}
		want := map[string]string{"connectionId": "c1=", "domainName": "d.example", "stage": "prod"}
		for k, v := range want {
			if s, ok := item[k].(*types.AttributeValueMemberS); !ok || s.Value != v {
				t.Fatalf("%s = %#v, want %q", k, item[k], v)
			}
		}
		if n, ok := item["connectedAt"].(*types.AttributeValueMemberN); !ok || n.Value != "1731324924553" {
			t.Fatalf("connectedAt = %#v", item["connectedAt"])
		}
		if n, ok := item["expiresAt"].(*types.AttributeValueMemberN); !ok || n.Value != "1731335724" {
			t.Fatalf("expiresAt = %#v", item["expiresAt"])
		}
		if size := dynamo.ItemSize(item); size > dynamo.MaxItemSize {
			t.Fatalf("item of %d bytes accepted", size)
		}
	})
}
