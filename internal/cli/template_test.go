package cli

import (
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/lawcket/lawcket/internal/devgw"
)

// TestTemplateGolden covers the command line; the renderings of every
// shape and format are internal/stack's golden files and lints.
func TestTemplateGolden(t *testing.T) {
	chat := "../../examples/chat/lawcket.yaml"
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"template-chat-sam", []string{"template", "-c", chat}, ExitOK},
		{"template-chat-sync-terraform", []string{"template", "-c", chat, "--shape", "sync", "--format", "terraform", "--arch", "x86_64", "--log-retention", "7", "--stage", "live"}, ExitOK},
		{"template-allow", []string{"template", "-c", chat, "--format", "cloudformation", "--allow", "scan,delete-connection", "--code-uri", "./cmd/chat"}, ExitOK},
		{"template-makefile", []string{"template", "-c", chat, "--makefile"}, ExitOK},
		{"template-bad-allow", []string{"template", "-c", chat, "--allow", "everything"}, ExitUsage},
		{"template-bad-code", []string{"template", "-c", chat, "--code", "rooms=./rooms"}, ExitUsage},
		{"template-bad-retention", []string{"template", "-c", chat, "--log-retention", "2"}, ExitUsage},
		{"template-sweep-terraform", []string{"template", "-c", chat, "--shape", "sync", "--sweep", "rate(15 minutes)", "--format", "terraform"}, ExitOK},
		{"template-bad-sweep", []string{"template", "-c", chat, "--sweep", "rate(15 minutes)"}, ExitUsage},
		{"template-bad-spec", []string{"template", "-c", specDir + "bad.yaml"}, ExitFindings},
		{"help-template", []string{"template", "-h"}, ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, "", tt.args...)
			if code != tt.want {
				t.Errorf("exit %d, want %d\nstderr:\n%s", code, tt.want, stderr)
			}
			golden(t, tt.name, code, stdout, stderr)
		})
	}
}

func TestTemplateScanGrant(t *testing.T) {
	code, stdout, stderr := run(t, "", "template", "-c", "../../examples/chat/lawcket.yaml", "--allow", "scan")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "dynamodb:Scan") {
		t.Errorf("--allow scan grants no dynamodb:Scan:\n%s", stdout)
	}
	code, stdout, _ = run(t, "", "template", "-c", "../../examples/chat/lawcket.yaml")
	if code != ExitOK || strings.Contains(stdout, "dynamodb:Scan") {
		t.Errorf("exit %d; Scan granted without --allow scan", code)
	}
}

// TestDevAPIFromSpec checks that lawcket dev takes the routes and the route
// selection of api: unless --routes / --route-selection are given (devgw
// then sends an unknown route value to $default).
func TestDevAPIFromSpec(t *testing.T) {
	spec, ok := loadSpec("../../testdata/spec/good/api.yaml", io.Discard)
	if !ok {
		t.Fatal("api.yaml does not load")
	}
	for _, tt := range []struct {
		args      []string
		routes    []string
		selection string
	}{
		{nil, []string{"send", "join", "leave", "$default"}, "$request.body.type"},
		{[]string{"--routes", "a"}, nil, "$request.body.type"},
		{[]string{"--route-selection", "$request.body.x"}, []string{"send", "join", "leave", "$default"}, ""},
	} {
		f := newFlags("dev", "", "", io.Discard)
		f.String("routes", "", "")
		f.String("route-selection", "", "")
		if err := f.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		var cfg devgw.Config
		devAPIFromSpec(f, spec, &cfg)
		if !slices.Equal(cfg.Routes, tt.routes) || cfg.RouteSelection != tt.selection {
			t.Errorf("%v: routes %v selection %q, want %v %q", tt.args, cfg.Routes, cfg.RouteSelection, tt.routes, tt.selection)
		}
	}
}
