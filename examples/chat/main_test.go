package main

import (
	"context"
	"strings"
	"testing"
)

func TestNewApp(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	ctx := context.Background()
	if app, err := newApp(ctx, "lawcket.yaml"); err != nil || app == nil {
		t.Fatalf("newApp(lawcket.yaml) = %v, %v; want an App", app, err)
	}
	tests := []struct {
		name, path string
		want       []string // substrings of the error
	}{
		{"missing file", "testdata/none.yaml", []string{"testdata/none.yaml"}},
		{"every problem, positioned", "testdata/bad.yaml", []string{"testdata/bad.yaml:5:", "testdata/bad.yaml:8:", "requird"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newApp(ctx, tt.path)
			if err == nil {
				t.Fatal("newApp succeeded; want the spec's errors")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestConfigPath(t *testing.T) {
	t.Setenv("LAWCKET_CONFIG", "")
	if got := configPath(); got != "lawcket.yaml" {
		t.Fatalf("configPath() = %q; want lawcket.yaml", got)
	}
	t.Setenv("LAWCKET_CONFIG", "/etc/chat/lawcket.yaml")
	if got := configPath(); got != "/etc/chat/lawcket.yaml" {
		t.Fatalf("configPath() = %q; want $LAWCKET_CONFIG", got)
	}
}
