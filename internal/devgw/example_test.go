package devgw_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/lawcket/lawcket/internal/devgw"
)

// A gateway in front of a handler binary, as Go tests run it: a free port,
// the embedded DynamoDB, Close at the end.
func ExampleNew() {
	g, err := devgw.New(devgw.Config{
		Addr:    "127.0.0.1:0",
		Command: []string{echoBin}, // any lambda.Start binary
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	if err := g.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer g.Close()
	if err := g.WaitReady(ctx); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(g.URL() == "ws://"+g.Addr()+"/local")
	fmt.Println(g.ManagementEndpoint() == "http://"+g.Addr()+"/local")
	// Output:
	// true
	// true
}

func ExampleNew_noCommand() {
	_, err := devgw.New(devgw.Config{})
	fmt.Println(err)
	// Output:
	// devgw: no handler command (lawcket dev [flags] -- COMMAND [ARGS...])
}
