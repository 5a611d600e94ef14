package testsupport

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// NodeModule finds file (for example "cli.js") of the npm package pkg in
// node_modules/pkg of the working directory or the nearest directory above
// it that has one, and returns its absolute path. It stops with a "not
// installed" error at the module root (the directory with go.mod and
// package.json: where `make deps` runs npm ci).
func NodeModule(pkg, file string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "node_modules", pkg, file)
		if _, err := os.Stat(p); err == nil {
			return filepath.Abs(p)
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "package.json")); err == nil {
				return "", fmt.Errorf("%s is not installed in %s/node_modules", pkg, dir)
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New(pkg + " not found (no node_modules/" + pkg + " above the working directory)")
		}
		dir = parent
	}
}

// Launch runs start outside a test (demos, tools, a server a test stops
// itself): start registers its clean-ups through the function it is given,
// as it would with t.Cleanup. Launch returns what start returns and a stop
// that runs the clean-ups, last first; when start fails they have already
// run.
func Launch(start func(cleanup func(func())) (string, error)) (endpoint string, stop func(), err error) {
	var stops []func()
	endpoint, err = start(func(f func()) { stops = append(stops, f) })
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	if err != nil {
		stop()
		return "", nil, err
	}
	return endpoint, stop, nil
}
