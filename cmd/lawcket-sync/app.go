package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/lawcket/lawcket"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/syncspec"
)

// EnvConfig names the spec file; the default is lawcket.yaml beside the executable.
const EnvConfig = "LAWCKET_CONFIG"

// configPath is $LAWCKET_CONFIG, else lawcket.yaml in the executable's
// directory (/var/task/lawcket.yaml on Lambda).
func configPath(getenv func(string) string) (string, error) {
	if p := getenv(EnvConfig); p != "" {
		return p, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("locate the executable to find lawcket.yaml beside it (set %s): %w", EnvConfig, err)
	}
	return filepath.Join(filepath.Dir(exe), "lawcket.yaml"), nil
}

// newApp loads the spec, builds the sync plugin and the App around it.
func newApp(ctx context.Context, getenv func(string) string) (*lawcket.App, error) {
	path, err := configPath(getenv)
	if err != nil {
		return nil, err
	}
	spec, err := syncspec.Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no spec at %s: ship lawcket.yaml beside the bootstrap or set %s: %w", path, EnvConfig, err)
	}
	if err != nil {
		return nil, fmt.Errorf("invalid spec:\n%w", err)
	}
	sync, err := dynamo.NewPlugin(ctx, spec)
	if err != nil {
		return nil, err
	}
	app := lawcket.New(lawcket.WithPlugins(sync))
	// Messages are acknowledged and nothing else: the plugin has no message hook.
	app.On(lawcket.Message, func(context.Context, *lawcket.Event) error { return nil })
	if err := app.Err(); err != nil {
		return nil, err
	}
	return app, nil
}

// reportInitError posts err to the Lambda Runtime API's /init/error, so the
// invocation that triggered the init reports it (Runtime.InitError) instead
// of only "exit status 1". aws-lambda-go does not expose this call. With no
// runtime API (run by hand) it does nothing.
func reportInitError(api string, err error) error {
	if api == "" {
		return nil
	}
	body, jerr := json.Marshal(map[string]any{
		"errorMessage": err.Error(),
		"errorType":    "lawcket.InitError",
	})
	if jerr != nil {
		return jerr
	}
	req, rerr := http.NewRequest(http.MethodPost, "http://"+api+"/2018-06-01/runtime/init/error", bytes.NewReader(body))
	if rerr != nil {
		return rerr
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Lambda-Runtime-Function-Error-Type", "lawcket.InitError")
	client := &http.Client{Timeout: 5 * time.Second}
	resp, derr := client.Do(req)
	if derr != nil {
		return derr
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("runtime API answered %s", resp.Status)
	}
	return nil
}
