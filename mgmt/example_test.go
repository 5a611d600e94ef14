package mgmt_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/lawcket/lawcket/mgmt"
)

func ExampleEndpoint() {
	t := mgmt.Target{DomainName: "ws.example.com", Stage: "prod", APIID: "abc123def4"}
	fmt.Println(mgmt.Endpoint("", t))
	// Behind a custom domain, the execute-api host reaches the Management API.
	fmt.Println(mgmt.Endpoint("https://{apiId}.execute-api.eu-west-1.amazonaws.com/{stage}", t))
	// The local gateway (lawcket dev), with its own stage path.
	fmt.Println(mgmt.Endpoint("http://127.0.0.1:8080/local", t))
	// Output:
	// https://ws.example.com/prod
	// https://abc123def4.execute-api.eu-west-1.amazonaws.com/prod
	// http://127.0.0.1:8080/local
}

func ExampleClient_Post() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Println(r.Method, r.URL.Path, string(body))
	}))
	defer srv.Close()
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")}
	c, err := mgmt.New(mgmt.WithAWSConfig(cfg), mgmt.WithEndpoint(srv.URL+"/{stage}"))
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := c.Post(context.Background(), mgmt.Target{ConnectionID: "L0SM9cOFvHcCIhw=", Stage: "prod"}, []byte("hi"))
	fmt.Println(res.Attempts, err)
	// Output:
	// POST /prod/@connections/L0SM9cOFvHcCIhw= hi
	// 1 <nil>
}

// A post that may have been delivered is not resent by default: the error
// says so.
func ExampleRetry() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("attempt")
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")}
	c, _ := mgmt.New(mgmt.WithAWSConfig(cfg), mgmt.WithEndpoint(srv.URL+"/{stage}"))
	t := mgmt.Target{ConnectionID: "L0SM9cOFvHcCIhw=", Stage: "prod"}

	res, err := c.Post(context.Background(), t, []byte("hi"))
	fmt.Println(res.Attempts, errors.Is(err, mgmt.ErrAmbiguous))

	// At least once: resend, accepting duplicates.
	res, err = c.Post(context.Background(), t, []byte("hi"), mgmt.Retry{MaxAttempts: 2, Delivery: mgmt.AtLeastOnce})
	fmt.Println(res.Attempts, errors.Is(err, mgmt.ErrAmbiguous))
	// Output:
	// attempt
	// 1 true
	// attempt
	// attempt
	// 2 true
}

func ExampleClient_Get() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-amzn-ErrorType", "GoneException")
		w.WriteHeader(http.StatusGone)
		fmt.Fprint(w, `{"message":"Gone"}`)
	}))
	defer srv.Close()
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")}
	c, _ := mgmt.New(mgmt.WithAWSConfig(cfg), mgmt.WithEndpoint(srv.URL+"/{stage}"))
	_, err := c.Get(context.Background(), mgmt.Target{ConnectionID: "L0SM9cOFvHcCIhw=", Stage: "prod"})
	fmt.Println(errors.Is(err, mgmt.ErrGone))
	// Output:
	// true
}

// Delete closes a connection (API Gateway then sends its $disconnect).
func ExampleClient_Delete() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println(r.Method, r.URL.Path)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")}
	c, _ := mgmt.New(mgmt.WithAWSConfig(cfg), mgmt.WithEndpoint(srv.URL+"/{stage}"))
	err := c.Delete(context.Background(), mgmt.Target{ConnectionID: "L0SM9cOFvHcCIhw=", Stage: "prod"})
	fmt.Println(err)
	// Output:
	// DELETE /prod/@connections/L0SM9cOFvHcCIhw=
	// <nil>
}
