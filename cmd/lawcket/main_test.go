package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain lets the test binary stand in for the command: with
// LAWCKET_RUN_MAIN=1 it runs main (and exits with its status) instead of the
// tests.
func TestMain(m *testing.M) {
	if os.Getenv("LAWCKET_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestExitStatus runs the command as a process and checks that Main's code
// becomes the process's exit status and the output reaches stdout/stderr.
func TestExitStatus(t *testing.T) {
	tests := []struct {
		args   []string
		want   int
		stdout string
		stderr string
	}{
		{[]string{"validate", "-c", "../../testdata/cli/spec/lawcket.yaml"}, 0, "ok: 6 fields (4 expressions)\n", ""},
		{[]string{"validate", "-c", "../../testdata/cli/spec/bad.yaml"}, 1, "", "bad.yaml:2:6: ttl: "},
		{[]string{"validate", "--frob"}, 2, "", "flag provided but not defined: -frob"},
		{[]string{"version"}, 0, "lawcket ", ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], tt.args...)
			cmd.Env = append(os.Environ(), "LAWCKET_RUN_MAIN=1")
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			if exit, ok := errors.AsType[*exec.ExitError](err); ok {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.want || !strings.Contains(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.want, stdout.String(), stderr.String())
			}
		})
	}
}
