package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// built is the bootstrap the tests of this package share: built once
// (without -race: it runs as a Lambda would), with lawcket.yaml (spec)
// beside it.
var built struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// buildBootstrap returns the path of the built bootstrap.
func buildBootstrap(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "lawcket-fanout-test-")
		if err != nil {
			built.err = err
			return
		}
		built.dir = dir
		path := filepath.Join(dir, "bootstrap")
		build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", path, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		if err := os.WriteFile(filepath.Join(dir, "lawcket.yaml"), []byte(spec), 0o644); err != nil {
			built.err = err
			return
		}
		built.path = path
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}
