package mgmt

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

func TestOneClientPerEndpoint(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	c, err := New(WithEndpoint(srv.URL+"/{stage}"), WithAWSConfig(aws.Config{
		Region:      "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""),
	}))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			stage := []string{"a", "b", "c"}[i%3]
			if _, err := c.Post(context.Background(), Target{ConnectionID: fmt.Sprint(i), Stage: stage}, nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if len(c.clients) != 3 {
		t.Errorf("%d clients, want one per endpoint (3)", len(c.clients))
	}
}

func TestRegionOf(t *testing.T) {
	for endpoint, want := range map[string]string{
		"https://abc.execute-api.eu-west-1.amazonaws.com/prod":   "eu-west-1",
		"https://abc.execute-api.cn-north-1.amazonaws.com.cn/p":  "cn-north-1",
		"https://ws.example.com/prod":                            "",
		"http://127.0.0.1:8080/local":                            "",
		"https://abc.execute-api.eu-west-1.amazonaws.com.evil/x": "",
	} {
		if got := regionOf(endpoint); got != want {
			t.Errorf("regionOf(%q) = %q, want %q", endpoint, got, want)
		}
	}
}

func TestNoRegion(t *testing.T) {
	c, err := New(WithEndpoint("http://127.0.0.1:1/{stage}"), WithAWSConfig(aws.Config{}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Post(context.Background(), Target{ConnectionID: "c", Stage: "s"}, nil); err == nil {
		t.Error("Post without a region succeeded")
	}
}
