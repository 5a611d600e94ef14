package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/lawcket/lawcket"
)

func main() {
	svc, err := newService(context.Background(), os.Getenv)
	if err != nil {
		// Logged, reported to the Runtime API as lawcket.InitError, exit 1.
		lawcket.FailInit(fmt.Errorf("lawcket-sync: %w", err))
	}
	lambda.Start(svc.handle)
}
