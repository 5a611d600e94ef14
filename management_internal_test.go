package lawcket

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

func TestPosterBuildsOneClientPerEndpoint(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	p, err := NewPoster(context.Background(), WithPosterEndpoint(srv.URL+"/{stage}"), WithPosterAWSConfig(aws.Config{
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
			if err := p.Post(context.Background(), Target{ConnectionID: fmt.Sprint(i), Stage: stage}, nil); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if len(p.clients) != 3 {
		t.Errorf("%d clients, want one per endpoint (3)", len(p.clients))
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
	p, err := NewPoster(context.Background(), WithPosterEndpoint("http://127.0.0.1:1/{stage}"), WithPosterAWSConfig(aws.Config{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Post(context.Background(), Target{ConnectionID: "c", Stage: "s"}, nil); err == nil {
		t.Error("Post without a region succeeded")
	}
}
