package syncspec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// EnvConfig names the spec file of a deployed function (see LoadFunction).
const EnvConfig = "LAWCKET_CONFIG"

// FunctionSpecPath is where a deployed function's spec is: the file
// $LAWCKET_CONFIG names (read through getenv; os.Getenv in production),
// else lawcket.yaml beside the executable — /var/task/lawcket.yaml for a
// bootstrap deployed as `zip function.zip bootstrap lawcket.yaml`.
func FunctionSpecPath(getenv func(string) string) (string, error) {
	if p := getenv(EnvConfig); p != "" {
		return p, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("syncspec: locate the executable to find lawcket.yaml beside it (set %s): %w", EnvConfig, err)
	}
	return filepath.Join(filepath.Dir(exe), "lawcket.yaml"), nil
}

// LoadFunction loads the spec at FunctionSpecPath(getenv), once per
// execution environment (in main, not per event). A missing file is an
// error that names the path and both ways to provide the spec
// (errors.Is(err, fs.ErrNotExist) holds); an invalid spec is an error
// wrapping Errors, every problem at FILE:LINE:COL. opts are Load's.
func LoadFunction(getenv func(string) string, opts ...Option) (*Spec, error) {
	path, err := FunctionSpecPath(getenv)
	if err != nil {
		return nil, err
	}
	spec, err := Load(path, opts...)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no spec at %s: ship lawcket.yaml beside the bootstrap or set %s: %w", path, EnvConfig, err)
	}
	if err != nil {
		return nil, fmt.Errorf("invalid spec:\n%w", err)
	}
	return spec, nil
}
