package cli

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

const versionAbout = `
Print lawcket's module version (as "go install ...@VERSION" recorded it, or
"(devel)" for a build from a checkout), the Go version it was built with, and
the VCS revision when the build recorded one.`

func runVersion(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f := newFlags("version", "lawcket version", versionAbout, stderr)
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	fmt.Fprintln(stdout, versionLine(debug.ReadBuildInfo()))
	return ExitOK
}

// versionLine formats what the build recorded:
// "lawcket v1.2.3 go1.26.0 linux/amd64" or, from a checkout with VCS stamping,
// "lawcket (devel) go1.26.0 linux/amd64 rev 0123456789ab+dirty".
func versionLine(info *debug.BuildInfo, ok bool) string {
	version, goVersion, rev, dirty := "(devel)", runtime.Version(), "", false
	if ok && info != nil {
		if info.Main.Version != "" {
			version = info.Main.Version
		}
		if info.GoVersion != "" {
			goVersion = info.GoVersion
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	line := fmt.Sprintf("lawcket %s %s %s/%s", version, goVersion, runtime.GOOS, runtime.GOARCH)
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		line += " rev " + rev
		if dirty {
			line += "+dirty"
		}
	}
	return line
}
