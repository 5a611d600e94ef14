package testsupport_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lawcket/lawcket/internal/testsupport"
)

func TestNodeModule(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"go.mod", "package.json"} {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sub := filepath.Join(root, "pkg", "inner")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	if _, err := testsupport.NodeModule("dynalite", "cli.js"); err == nil || !strings.Contains(err.Error(), "dynalite is not installed in "+root) {
		t.Fatalf("not installed: %v", err)
	}
	want := filepath.Join(root, "node_modules", "dynalite", "cli.js")
	if err := os.MkdirAll(filepath.Dir(want), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(want, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := testsupport.NodeModule("dynalite", "cli.js")
	if err != nil || got != want {
		t.Fatalf("NodeModule = %q, %v; want %q", got, err, want)
	}
}
