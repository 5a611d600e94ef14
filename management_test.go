package lawcket_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/lawckettest"
	"github.com/lawcket/lawcket/mgmt"
)

// staticConfig is an AWS config with fixed credentials, so that no
// credential chain is searched.
func staticConfig() aws.Config {
	return aws.Config{
		Region:      "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLAWCKETTEST", "secret", ""),
	}
}

// newManagementServer is lawckettest's recording Management API, closed
// with the test.
func newManagementServer(t *testing.T) *lawckettest.Server {
	srv := lawckettest.NewServer()
	t.Cleanup(srv.Close)
	return srv
}

func checkSigned(t *testing.T, r lawckettest.Request) {
	t.Helper()
	if !r.Signed {
		t.Errorf("request %+v is not SigV4-signed for execute-api", r)
	}
}

func TestReply(t *testing.T) {
	srv := newManagementServer(t)
	log, _ := quietLogger()
	a := lawcket.New(lawcket.WithLogger(log), lawcket.WithManagement(testClient(t, mgmt.WithEndpoint(srv.URL+"/{stage}"))))
	a.On(lawcket.Message, func(ctx context.Context, ev *lawcket.Event) error {
		return ev.Reply(ctx, map[string]string{"echo": string(ev.Body)})
	})
	resp, err := invoke(t, a, fixture(t, "message-default.json"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("got %d %q, %v", resp.StatusCode, resp.Body, err)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("server got %d requests, want 1", len(reqs))
	}
	p := reqs[0]
	if p.Method != http.MethodPost || p.Stage != "prod" || p.ConnectionID != "BQ1a2ecXDoECJQg=" {
		t.Errorf("got %s %s/@connections/%s, want POST prod/@connections/BQ1a2ecXDoECJQg=", p.Method, p.Stage, p.ConnectionID)
	}
	if string(p.Data) != `{"echo":"hello"}` {
		t.Errorf("body = %q", p.Data)
	}
	checkSigned(t, p)
}

func TestReplyPayloads(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{"plain text", "plain text"},
		{[]byte{0xff, 0x00}, "\xff\x00"},
		{struct {
			N int    `json:"n"`
			S string `json:"s"`
		}{7, "<b>&"}, `{"n":7,"s":"<b>&"}`},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%T", tt.v), func(t *testing.T) {
			srv := newManagementServer(t)
			t.Setenv(mgmt.EnvEndpoint, srv.URL+"/{stage}")
			log, _ := quietLogger()
			a := lawcket.New(lawcket.WithLogger(log), lawcket.WithManagement(testClient(t)))
			a.On(lawcket.Message, func(ctx context.Context, ev *lawcket.Event) error { return ev.Reply(ctx, tt.v) })
			if _, err := invoke(t, a, fixture(t, "message-default.json")); err != nil {
				t.Fatal(err)
			}
			if reqs := srv.Requests(); len(reqs) != 1 || string(reqs[0].Data) != tt.want || reqs[0].Stage != "prod" || reqs[0].ConnectionID != "BQ1a2ecXDoECJQg=" {
				t.Errorf("server got %+v, want body %q", reqs, tt.want)
			}
		})
	}
	t.Run("unencodable", func(t *testing.T) {
		log, _ := quietLogger()
		a := lawcket.New(lawcket.WithLogger(log), lawcket.WithManagement(testClient(t, mgmt.WithAPI(failClient{}))))
		a.On(lawcket.Message, func(ctx context.Context, ev *lawcket.Event) error { return ev.Reply(ctx, make(chan int)) })
		if _, err := invoke(t, a, fixture(t, "message-default.json")); err == nil || !strings.Contains(err.Error(), "encode reply") {
			t.Errorf("err = %v", err)
		}
	})
}

// testClient is a mgmt.Client signing with staticConfig.
func testClient(t *testing.T, opts ...mgmt.Option) *mgmt.Client {
	t.Helper()
	c, err := mgmt.New(append([]mgmt.Option{mgmt.WithAWSConfig(staticConfig())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// failClient is a mgmt.API that must not be called.
type failClient struct{ mgmt.API }

func (failClient) PostToConnection(context.Context, *apigatewaymanagementapi.PostToConnectionInput, ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.PostToConnectionOutput, error) {
	return nil, errors.New("failClient must not be called")
}

func TestReplyOnConnect(t *testing.T) {
	srv := newManagementServer(t)
	log, _ := quietLogger()
	a := lawcket.New(lawcket.WithLogger(log), lawcket.WithManagement(testClient(t, mgmt.WithEndpoint(srv.URL+"/{stage}"))))
	var replyErr error
	a.On(lawcket.Connect, func(ctx context.Context, ev *lawcket.Event) error {
		replyErr = ev.Reply(ctx, "welcome")
		return nil
	})
	if _, err := invoke(t, a, fixture(t, "connect.json")); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(replyErr, lawcket.ErrNotEstablished) {
		t.Errorf("Reply on $connect = %v, want ErrNotEstablished", replyErr)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("server got %d requests, want none", n)
	}
}
