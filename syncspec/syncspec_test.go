package syncspec_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lawcket/lawcket/syncspec"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/spec/bad")

// noEnv is an empty environment: tests never read or change the process's.
func noEnv(string) (string, bool) { return "", false }

// envOf returns a lookup function over a fixed environment.
func envOf(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// TestBadGolden loads every testdata/spec/bad/*.yaml and compares the
// complete error report with its .golden file (refresh with -update).
func TestBadGolden(t *testing.T) {
	files, err := filepath.Glob("../testdata/spec/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad specs: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			_, err := syncspec.Load(file, syncspec.WithLookupEnv(noEnv))
			var errs syncspec.Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("got %v, want syncspec.Errors", err)
			}
			got := strings.ReplaceAll(err.Error(), "../testdata/spec/bad/", "") + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./syncspec -run TestBadGolden -update)", err)
			}
			if got != string(want) {
				t.Errorf("error report differs from %s:\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}
