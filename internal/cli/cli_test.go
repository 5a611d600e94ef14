package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/cli/golden")

// Paths of the test data, relative to this package.
const (
	specDir   = "../../testdata/cli/spec/"
	eventDir  = "../../testdata/cli/events/"
	goldenDir = "../../testdata/cli/golden/"
)

// run runs Main with buffers.
func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// golden compares the exit code, stdout and stderr of a run with
// testdata/cli/golden/NAME.golden (rewritten with -update).
func golden(t *testing.T, name string, code int, stdout, stderr string) {
	t.Helper()
	got := fmt.Sprintf("exit %d\n-- stdout --\n%s-- stderr --\n%s", code, stdout, stderr)
	path := filepath.Join(goldenDir, name+".golden")
	if *update {
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it)\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// TestExitCodes runs every subcommand's usage paths: help, unknown flags, bad
// flag values and stray arguments.
func TestExitCodes(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		want     int
		inStdout string // a substring of stdout
		inStderr string // a substring of stderr
	}{
		{"no command", nil, ExitUsage, "", "usage: lawcket <command>"},
		{"unknown command", []string{"frobnicate"}, ExitUsage, "", `unknown command "frobnicate"`},
		{"help", []string{"help"}, ExitOK, "usage: lawcket <command>", ""},
		{"-h", []string{"-h"}, ExitOK, "usage: lawcket <command>", ""},
		{"--help", []string{"--help"}, ExitOK, "commands:", ""},
		{"help eval", []string{"help", "eval"}, ExitOK, "usage: lawcket eval", ""},
		{"help unknown", []string{"help", "nope"}, ExitUsage, "", `unknown command "nope"`},
		{"validate -h", []string{"validate", "-h"}, ExitOK, "usage: lawcket validate", ""},
		{"validate --help", []string{"validate", "--help"}, ExitOK, "-c file", ""},
		{"validate unknown flag", []string{"validate", "--frob"}, ExitUsage, "", "flag provided but not defined: -frob"},
		{"validate stray argument", []string{"validate", "lawcket.yaml"}, ExitUsage, "", `unexpected argument "lawcket.yaml"`},
		{"validate -c without value", []string{"validate", "-c"}, ExitUsage, "", "flag needs an argument: -c"},
		{"eval -h", []string{"eval", "-h"}, ExitOK, "usage: lawcket eval", ""},
		{"eval without -e", []string{"eval", "-c", specDir + "lawcket.yaml"}, ExitUsage, "", "-e is required"},
		{"eval bad format", []string{"eval", "-e", "x.json", "--format", "xml"}, ExitUsage, "", `invalid value "xml" for flag -format: must be one of json, dynamodb`},
		{"eval bad now", []string{"eval", "-e", "x.json", "--now", "yesterday"}, ExitUsage, "", `invalid value "yesterday" for flag -now: want an RFC 3339 time`},
		{"eval unknown flag", []string{"eval", "-x"}, ExitUsage, "", "flag provided but not defined: -x"},
		{"table -h", []string{"table", "-h"}, ExitOK, "usage: lawcket table", ""},
		{"table bad format", []string{"table", "--format", "pulumi"}, ExitUsage, "", "must be one of cloudformation, sam, serverless, terraform"},
		{"table bad name", []string{"table", "--name", "my-table"}, ExitUsage, "", `--name "my-table": a logical id is 1 to 255 letters and digits`},
		{"table name starting with a digit", []string{"table", "--name", "1Table"}, ExitUsage, "", "starting with a letter"},
		{"table stray argument", []string{"table", "terraform"}, ExitUsage, "", `unexpected argument "terraform"`},
		{"version -h", []string{"version", "-h"}, ExitOK, "usage: lawcket version", ""},
		{"version stray argument", []string{"version", "now"}, ExitUsage, "", `unexpected argument "now"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, "", tt.args...)
			if code != tt.want {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.want, stdout, stderr)
			}
			if !strings.Contains(stdout, tt.inStdout) {
				t.Errorf("stdout does not contain %q:\n%s", tt.inStdout, stdout)
			}
			if !strings.Contains(stderr, tt.inStderr) {
				t.Errorf("stderr does not contain %q:\n%s", tt.inStderr, stderr)
			}
			if tt.want == ExitOK && stderr != "" {
				t.Errorf("stderr not empty on success:\n%s", stderr)
			}
			if tt.want == ExitUsage && stdout != "" {
				t.Errorf("stdout not empty on a usage error:\n%s", stdout)
			}
		})
	}
}

// TestHelpEveryCommand checks that every command in the table answers -h with
// its help on stdout and exit 0, an unknown flag with the problem and its
// help on stderr and exit 2, and is listed by the usage.
func TestHelpEveryCommand(t *testing.T) {
	_, list, _ := run(t, "", "help")
	for _, c := range commands() {
		name := c.name
		if !strings.Contains(list, "\n  "+name+" ") {
			t.Errorf("usage does not list %s:\n%s", name, list)
		}
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := run(t, "", name, "-h")
			if code != ExitOK || !strings.HasPrefix(stdout, "usage: lawcket "+name) || stderr != "" {
				t.Errorf("lawcket %s -h: exit %d\nstdout:\n%s\nstderr:\n%s", name, code, stdout, stderr)
			}
			code, stdout, stderr = run(t, "", name, "--no-such-flag")
			if code != ExitUsage || stdout != "" || !strings.Contains(stderr, "flag provided but not defined: -no-such-flag") ||
				!strings.Contains(stderr, "usage: lawcket "+name) {
				t.Errorf("lawcket %s --no-such-flag: exit %d\nstdout:\n%s\nstderr:\n%s", name, code, stdout, stderr)
			}
		})
	}
}

func TestHelpGolden(t *testing.T) {
	for _, name := range []string{"validate", "eval", "table", "version"} {
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := run(t, "", name, "-h")
			golden(t, "help-"+name, code, stdout, stderr)
		})
	}
}
