package syncspec_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lawcket/lawcket/syncspec"
)

func TestFunctionSpecPath(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"beside the executable", nil, filepath.Join(filepath.Dir(exe), "lawcket.yaml")},
		{"LAWCKET_CONFIG", map[string]string{syncspec.EnvConfig: "/etc/ws/spec.yaml"}, "/etc/ws/spec.yaml"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := syncspec.FunctionSpecPath(func(k string) string { return tt.env[k] })
			if err != nil || got != tt.want {
				t.Fatalf("FunctionSpecPath = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestLoadFunction(t *testing.T) {
	t.Setenv(syncspec.EnvTable, "")
	t.Setenv(syncspec.EnvTTL, "")
	dir := t.TempDir()
	good := filepath.Join(dir, "lawcket.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte("table: Connections\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("table: Connections\nfields:\n  room:\n    expr: query.room +\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := func(path string) func(string) string {
		return func(k string) string {
			if k == syncspec.EnvConfig {
				return path
			}
			return ""
		}
	}
	spec, err := syncspec.LoadFunction(env(good))
	if err != nil || spec.Table != "Connections" {
		t.Fatalf("LoadFunction(good) = %v, %v", spec, err)
	}

	missing := filepath.Join(dir, "none.yaml")
	_, err = syncspec.LoadFunction(env(missing))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v, want fs.ErrNotExist", err)
	}
	for _, w := range []string{"no spec at " + missing, "beside the bootstrap", syncspec.EnvConfig} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing file: error lacks %q: %v", w, err)
		}
	}

	_, err = syncspec.LoadFunction(env(bad))
	var errs syncspec.Errors
	if !errors.As(err, &errs) || !strings.HasPrefix(err.Error(), "invalid spec:\n") || !strings.Contains(err.Error(), bad+":4:") {
		t.Fatalf("invalid spec: %v", err)
	}
}
