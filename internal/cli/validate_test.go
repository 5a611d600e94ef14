package cli

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestValidateGolden(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"validate-readme", []string{"validate", "-c", specDir + "lawcket.yaml"}, ExitOK},
		{"validate-minimal", []string{"validate", "-c", specDir + "minimal.yaml"}, ExitOK},
		{"validate-indexes", []string{"validate", "-c", specDir + "indexes.yaml"}, ExitOK},
		{"validate-bad", []string{"validate", "-c", specDir + "bad.yaml"}, ExitFindings},
		{"validate-missing", []string{"validate", "-c", specDir + "missing.yaml"}, ExitFindings},
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

// TestValidateDefaultConfig runs validate without -c in a directory holding a
// lawcket.yaml.
func TestValidateDefaultConfig(t *testing.T) {
	spec, err := filepath.Abs(specDir + "lawcket.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	copyFile(t, spec, filepath.Join(dir, "lawcket.yaml"))
	t.Chdir(dir)
	code, stdout, stderr := run(t, "", "validate")
	if code != ExitOK || stdout != "ok: 6 fields (4 expressions)\n" {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// TestValidateSpecs validates every spec of testdata/spec: the good ones pass,
// every bad one fails with at least one FILE:LINE:COL problem for that file.
func TestValidateSpecs(t *testing.T) {
	good, _ := filepath.Glob("../../testdata/spec/good/*.yaml")
	bad, _ := filepath.Glob("../../testdata/spec/bad/*.yaml")
	if len(good)+len(bad) == 0 {
		t.Fatal("no specs in testdata/spec")
	}
	for _, path := range good {
		t.Run("good/"+filepath.Base(path), func(t *testing.T) {
			code, stdout, stderr := run(t, "", "validate", "-c", path)
			if code != ExitOK || !regexp.MustCompile(`^ok: \d+ fields? \(\d+ expressions?\)\n$`).MatchString(stdout) || stderr != "" {
				t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
		})
	}
	for _, path := range bad {
		t.Run("bad/"+filepath.Base(path), func(t *testing.T) {
			code, stdout, stderr := run(t, "", "validate", "-c", path)
			if code != ExitFindings || stdout != "" {
				t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(path) + `:\d+:\d+: `).MatchString(stderr) {
				t.Errorf("no %s:LINE:COL: problem in stderr:\n%s", path, stderr)
			}
		})
	}
}

func TestPlural(t *testing.T) {
	for n, want := range map[int]string{0: "0 fields", 1: "1 field", 2: "2 fields"} {
		if got := plural(n, "field"); got != want {
			t.Errorf("plural(%d) = %q, want %q", n, got, want)
		}
	}
	if got := plural(1, "expression"); !strings.HasSuffix(got, "expression") {
		t.Errorf("plural(1, expression) = %q", got)
	}
}

// TestValidateEnv checks that a bad value from the environment is reported
// by the variable's name, with exit 1.
func TestValidateEnv(t *testing.T) {
	t.Setenv("LAWCKET_TTL", "forever")
	code, stdout, stderr := run(t, "", "validate", "-c", specDir+"lawcket.yaml")
	if code != ExitFindings || stdout != "" || !strings.HasPrefix(stderr, "LAWCKET_TTL: ") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}
