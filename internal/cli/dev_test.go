package cli

import (
	"bufio"
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/lawcket/lawcket/internal/testsupport"
)

func TestDevUsage(t *testing.T) {
	spec := filepath.Join(t.TempDir(), "missing.yaml")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no command", []string{"dev"}, ExitUsage, "no handler command: put it after --"},
		{"empty command", []string{"dev", "--addr", "127.0.0.1:0", "--"}, ExitUsage, "no handler command"},
		{"stray argument", []string{"dev", "./bootstrap"}, ExitUsage, `unexpected argument "./bootstrap"`},
		{"unknown flag", []string{"dev", "--nope", "--", "true"}, ExitUsage, "flag provided but not defined: -nope"},
		{"bad concurrency", []string{"dev", "--concurrency", "0", "--", "true"}, ExitUsage, "--concurrency 0: want at least 1"},
		{"bad timeout", []string{"dev", "--idle-timeout", "-1s", "--", "true"}, ExitUsage, "--idle-timeout -1s: want a positive duration"},
		{"bad stage", []string{"dev", "--stage", "a/b", "--", "true"}, ExitUsage, `stage "a/b"`},
		{"bad route selection", []string{"dev", "--route-selection", "$request.header.x", "--", "true"}, ExitUsage, "want $request.body.NAME"},
		{"explicit missing spec", []string{"dev", "-c", spec, "--", "true"}, ExitFindings, "missing.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, "", tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, want %d; stderr:\n%s\nwant it to contain %q", code, tt.code, stderr, tt.stderr)
			}
		})
	}
}

func TestDevHelp(t *testing.T) {
	code, stdout, stderr := run(t, "", "dev", "-h")
	if code != ExitOK || !strings.HasPrefix(stdout, "usage: lawcket dev [flags] -- COMMAND [ARGS...]") || stderr != "" {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, flag := range []string{"-addr", "-stage", "-dynamodb-endpoint", "-route-selection", "-concurrency", "-static", "-idle-timeout", "-max-lifetime"} {
		if !strings.Contains(stdout, "  "+flag+" ") {
			t.Errorf("help does not list %s", flag)
		}
	}
}

// TestDevRuns runs `lawcket dev` in front of the devgw test handler until its
// context ends (Ctrl-C), with a WebSocket client in between.
func TestDevRuns(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "echo")
	build := exec.Command("go", "build", "-o", bin, "../devgw/testdata/echo")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build echo: %v\n%s", err, out)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "index.html"), "<p>hi</p>")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr testsupport.SyncBuffer
	done := make(chan int, 1)
	go func() {
		// No lawcket.yaml in the working directory: runs without a table.
		done <- Main(ctx, []string{"dev", "--addr", "127.0.0.1:0", "--static", dir, "--", bin}, strings.NewReader(""), pw, &stderr)
		pw.Close()
	}()
	banner := map[string]string{}
	lines := bufio.NewScanner(pr)
	for lines.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(lines.Text()), ":"); ok {
			banner[k] = strings.Fields(v + " ")[0]
		}
		if strings.HasPrefix(strings.TrimSpace(lines.Text()), "Static page:") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	url := banner["WebSocket URL"]
	if !strings.HasPrefix(url, "ws://127.0.0.1:") || !strings.HasSuffix(url, "/local") ||
		!strings.HasPrefix(banner["Management API"], "http://127.0.0.1:") || !strings.HasPrefix(banner["DynamoDB"], "http://127.0.0.1:") {
		t.Fatalf("banner %v\nstderr:\n%s", banner, stderr.String())
	}
	dctx, dcancel := context.WithTimeout(ctx, 30*time.Second)
	defer dcancel()
	c, _, err := websocket.Dial(dctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(dctx, websocket.MessageText, []byte(`{"action":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	if _, data, err := c.Read(dctx); err != nil || !strings.Contains(string(data), `"routeKey":"ping"`) {
		t.Fatalf("echo %s, %v", data, err)
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("exit %d\nstderr:\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("lawcket dev did not stop after its context ended")
	}
	if !strings.Contains(stderr.String(), "handler ready after") {
		t.Errorf("stderr does not say the handler is ready:\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "no lawcket.yaml here") {
		t.Errorf("stderr does not say it runs without a table:\n%s", stderr.String())
	}
}
