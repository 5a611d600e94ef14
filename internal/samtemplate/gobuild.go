package samtemplate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// BuildGo builds a Go function as `sam build` does for BuildMethod go1.x —
// `go build` of the package in CodeUri into a binary named bootstrap, the
// provided.al2023 handler — but for this machine (GOOS and GOARCH are
// left to the environment, not forced to linux/Architecture), so that
// `lawcket dev` can run it. The binary goes to dir/LogicalID/bootstrap;
// its path is returned. The go command's output is in the error.
func BuildGo(ctx context.Context, fn *Function, dir string) (string, error) {
	if !fn.IsGo() {
		return "", fmt.Errorf("samtemplate: function %s is not a Go function (Metadata.BuildMethod go1.x)", fn.LogicalID)
	}
	if fn.CodeURI == "" {
		return "", fmt.Errorf("samtemplate: function %s has no local CodeUri to build", fn.LogicalID)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("samtemplate: build %s: %w", fn.LogicalID, err)
	}
	out := filepath.Join(dir, fn.LogicalID, "bootstrap")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", fmt.Errorf("samtemplate: build %s: %w", fn.LogicalID, err)
	}
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", out, ".")
	cmd.Dir = fn.CodeURI
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(output.String())
		if msg == "" {
			msg = err.Error()
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			msg = err.Error()
		}
		return "", fmt.Errorf("samtemplate: go build of %s (CodeUri %s) failed:\n%s", fn.LogicalID, fn.CodeURI, msg)
	}
	return out, nil
}
