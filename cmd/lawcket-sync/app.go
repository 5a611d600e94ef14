package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

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
