package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigPath(t *testing.T) {
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
		{"LAWCKET_CONFIG", map[string]string{EnvConfig: "/etc/ws/spec.yaml"}, "/etc/ws/spec.yaml"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := configPath(func(k string) string { return tt.env[k] })
			if err != nil || got != tt.want {
				t.Fatalf("configPath = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestNewAppErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(badSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LAWCKET_TABLE", "")
	t.Setenv("LAWCKET_TTL", "")
	for _, tt := range []struct {
		name, path string
		want       []string
	}{
		{"missing file", filepath.Join(dir, "none.yaml"), []string{"no spec at " + filepath.Join(dir, "none.yaml"), "LAWCKET_CONFIG"}},
		{"invalid spec", bad, []string{"invalid spec", bad + ":2:6", bad + ":5:22"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newApp(context.Background(), func(k string) string {
				if k == EnvConfig {
					return tt.path
				}
				return ""
			})
			if err == nil {
				t.Fatal("newApp succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}
