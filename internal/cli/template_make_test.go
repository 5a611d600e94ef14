package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lawcket/lawcket/internal/testsupport"
)

// TestTemplateMakefileBuilds runs the Makefile targets --makefile prints as
// sam build runs them (make build-SyncFunction / build-FanoutFunction with
// ARTIFACTS_DIR, in the module root): each must leave a linux arm64
// bootstrap (lawcket-sync, lawcket-fanout) and the spec as lawcket.yaml in
// its artifacts directory.
func TestTemplateMakefileBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds lawcket-sync")
	}
	mk, err := exec.LookPath("make")
	if err != nil {
		testsupport.Missing(t, "make is not installed")
	}
	code, stdout, stderr := run(t, "", "template", "-c", "examples/chat/lawcket.yaml", "--makefile")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	dir := t.TempDir()
	makefile := filepath.Join(dir, "Makefile")
	if err := os.WriteFile(makefile, []byte(stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"SyncFunction", "FanoutFunction"} {
		t.Run(target, func(t *testing.T) {
			artifacts := filepath.Join(dir, target)
			if err := os.Mkdir(artifacts, 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(mk, "-f", makefile, "build-"+target, "ARTIFACTS_DIR="+artifacts)
			cmd.Dir = "../.." // the module root, where sam build runs a CodeUri: . target
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("make: %v\n%s", err, out)
			}
			checkArtifacts(t, artifacts)
		})
	}
}

func checkArtifacts(t *testing.T, artifacts string) {
	t.Helper()
	bin, err := os.ReadFile(filepath.Join(artifacts, "bootstrap"))
	if err != nil || len(bin) < 4 || string(bin[1:4]) != "ELF" {
		t.Fatalf("bootstrap is not an ELF executable (%d bytes, %v)", len(bin), err)
	}
	if bin[18] != 0xb7 { // e_machine EM_AARCH64: arm64, the default --arch
		t.Errorf("bootstrap e_machine = %#x, want arm64", bin[18])
	}
	spec, err := os.ReadFile(filepath.Join(artifacts, "lawcket.yaml"))
	want, _ := os.ReadFile("../../examples/chat/lawcket.yaml")
	if err != nil || !strings.Contains(string(spec), "table: chat-connections") || string(spec) != string(want) {
		t.Errorf("lawcket.yaml beside the bootstrap: %v\n%s", err, spec)
	}
}
