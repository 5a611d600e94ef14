package main

import (
	"context"
	"fmt"
	"os"
)

func main() {
	app, err := newApp(context.Background(), os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "lawcket-sync: %v\n", err)
		if rerr := reportInitError(os.Getenv("AWS_LAMBDA_RUNTIME_API"), err); rerr != nil {
			fmt.Fprintf(os.Stderr, "lawcket-sync: report init error: %v\n", rerr)
		}
		os.Exit(1)
	}
	app.Start()
}
