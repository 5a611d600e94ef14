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

func TestLaunch(t *testing.T) {
	var order []int
	endpoint, stop, err := testsupport.Launch(func(cleanup func(func())) (string, error) {
		cleanup(func() { order = append(order, 1) })
		cleanup(func() { order = append(order, 2) })
		return "http://127.0.0.1:1", nil
	})
	if err != nil || endpoint != "http://127.0.0.1:1" || len(order) != 0 {
		t.Fatalf("Launch = %q, %v; cleaned up %v before stop", endpoint, err, order)
	}
	stop()
	if len(order) != 2 || order[0] != 2 || order[1] != 1 {
		t.Fatalf("clean-ups ran %v, want [2 1]", order)
	}

	order = nil
	_, stop, err = testsupport.Launch(func(cleanup func(func())) (string, error) {
		cleanup(func() { order = append(order, 1) })
		return "", os.ErrNotExist
	})
	if err == nil || stop != nil || len(order) != 1 {
		t.Fatalf("failed start: err %v, stop %v, clean-ups %v", err, stop != nil, order)
	}
}
