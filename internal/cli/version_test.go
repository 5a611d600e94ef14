package cli

import (
	"regexp"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestVersion(t *testing.T) {
	code, stdout, stderr := run(t, "", "version")
	if code != ExitOK || stderr != "" || !regexp.MustCompile(`^lawcket \S+ go\S+ \S+/\S+( rev [0-9a-f]+(\+dirty)?)?\n$`).MatchString(stdout) {
		t.Errorf("exit %d\nstdout %q\nstderr %q", code, stdout, stderr)
	}
}

func TestVersionLine(t *testing.T) {
	platform := runtime.GOOS + "/" + runtime.GOARCH
	tests := []struct {
		name string
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{"no build info", nil, false, "lawcket (devel) " + runtime.Version() + " " + platform},
		{"go install @version", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.3.1"}}, true,
			"lawcket v0.3.1 go1.26.0 " + platform},
		{"checkout with vcs stamp", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"},
		}}, true, "lawcket (devel) go1.26.0 " + platform + " rev 0123456789ab+dirty"},
		{"empty main version", &debug.BuildInfo{GoVersion: "go1.26.0"}, true, "lawcket (devel) go1.26.0 " + platform},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionLine(tt.info, tt.ok); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
