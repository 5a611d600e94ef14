package main

import (
	"context"
	"fmt"
	"os"

	"github.com/lawcket/lawcket"
)

func main() {
	app, err := newApp(context.Background(), os.Getenv)
	if err != nil {
		// Logged, reported to the Runtime API as lawcket.InitError, exit 1.
		lawcket.FailInit(fmt.Errorf("lawcket-sync: %w", err))
	}
	app.Start()
}
