package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/lawcket/lawcket/syncspec"
)

// defaultConfig is the spec file the commands read when -c is not given.
const defaultConfig = "lawcket.yaml"

// configFlag defines -c on f.
func configFlag(f *flag.FlagSet) *string {
	return f.String("c", defaultConfig, "the spec `file`")
}

// loadSpec loads and compiles the spec at path. On failure it prints every
// problem on stderr (FILE:LINE:COL: path: message, expression problems
// followed by their caret snippet, as syncspec formats them) and returns
// ok == false: the command exits ExitFindings.
func loadSpec(path string, stderr io.Writer) (spec *syncspec.Spec, ok bool) {
	spec, err := syncspec.Load(path)
	if err != nil {
		msg := strings.TrimRight(err.Error(), "\n")
		fmt.Fprintln(stderr, msg)
		if errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(stderr, "hint: name the spec file with -c FILE (default %s)\n", defaultConfig)
		}
		return nil, false
	}
	return spec, true
}
