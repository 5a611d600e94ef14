package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	svc, err := newService(context.Background(), os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "lawcket-sync: %v\n", err)
		if rerr := reportInitError(os.Getenv("AWS_LAMBDA_RUNTIME_API"), err); rerr != nil {
			fmt.Fprintf(os.Stderr, "lawcket-sync: report init error: %v\n", rerr)
		}
		os.Exit(1)
	}
	lambda.Start(svc.handle)
}
