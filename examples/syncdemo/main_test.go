package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/lawcket/lawcket/internal/dynalitetest"
)

func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the bootstrap")
	}
	dynalitetest.Start(t) // skips (or fails under CI) exactly as the other integration tests
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-no-rie"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{
		"events/connect.json          ← 200; DynamoDB requests: 1 PutItem",
		`room          S  "lobby"`,
		"events/message.json          ← 200; DynamoDB requests: none\n  row BQ1a2ecXDoECJQg=: unchanged",
		"events/disconnect.json       ← 200; DynamoDB requests: 1 DeleteItem",
		`events/connect-no-query.json ← 400 "field room: required`,
		"row BQ1a2ecXDoECJQg=: none",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Count(out.String(), "DynamoDB requests: none") != 2 {
		t.Errorf("want no request for the message and the refused connect:\n%s", out.String())
	}
}
