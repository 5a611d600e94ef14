package doctest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	goTestBench = regexp.MustCompile("go test [^`\n]*-bench [^`\n]*")
	benchFunc   = regexp.MustCompile(`(?m)^func (Benchmark\w*)\(\w+ \*testing\.B\)`)
)

// TestBenchCommands checks every `go test ... -bench PATTERN PKG...` command
// of README.md and docs/: each package exists, and PATTERN's first level
// (before any "/") matches a Benchmark function of those packages, so a
// figure's command still measures something after a rename or a move.
// A line that says "at commit SHA" records a figure of code since removed
// and is not checked.
func TestBenchCommands(t *testing.T) {
	dir := root(t)
	found := 0
	for _, md := range markdownFiles(t, dir) {
		text, err := os.ReadFile(filepath.Join(dir, md))
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range strings.Split(string(text), "\n") {
			if strings.Contains(l, "at commit ") {
				continue // a historical figure, measured on code since removed
			}
			for _, cmd := range goTestBench.FindAllString(l, -1) {
				found++
				checkBench(t, dir, md, i+1, cmd)
			}
		}
	}
	if found == 0 {
		t.Error("no go test -bench command in the docs: docs/performance.md lost its commands")
	}
}

func checkBench(t *testing.T, dir, md string, line int, cmd string) {
	words, err := shellWords(strings.TrimSuffix(strings.TrimSpace(cmd), "#"))
	if err != nil {
		t.Errorf("%s:%d: %v", md, line, err)
		return
	}
	pattern := ""
	var pkgs []string
	for i := 0; i < len(words); i++ {
		switch w := words[i]; {
		case w == "-bench" && i+1 < len(words):
			pattern = words[i+1]
			i++
		case w == "#":
			i = len(words) // a shell comment ends the command
		case w == "." || strings.HasPrefix(w, "./"):
			pkgs = append(pkgs, w)
		}
	}
	if pattern == "" || len(pkgs) == 0 {
		t.Errorf("%s:%d: %q: want -bench PATTERN and ./package arguments", md, line, cmd)
		return
	}
	top, _, _ := strings.Cut(pattern, "/")
	re, err := regexp.Compile(top)
	if err != nil {
		t.Errorf("%s:%d: -bench %q: %v", md, line, pattern, err)
		return
	}
	matched := false
	for _, p := range pkgs {
		recursive := strings.HasSuffix(p, "/...")
		pdir := filepath.Join(dir, filepath.FromSlash(strings.TrimSuffix(p, "/...")))
		files, _ := filepath.Glob(filepath.Join(pdir, "*_test.go"))
		if recursive {
			_ = filepath.WalkDir(pdir, func(path string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() && strings.HasSuffix(path, "_test.go") && !strings.Contains(path, "node_modules") {
					files = append(files, path)
				}
				return nil
			})
		}
		if fi, err := os.Stat(pdir); err != nil || !fi.IsDir() {
			t.Errorf("%s:%d: %s: no package directory %s", md, line, cmd, p)
			continue
		}
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range benchFunc.FindAllStringSubmatch(string(src), -1) {
				if re.MatchString(m[1]) {
					matched = true
				}
			}
		}
	}
	if !matched {
		t.Errorf("%s:%d: %s: -bench %s matches no Benchmark function in %s", md, line, cmd, pattern, strings.Join(pkgs, " "))
	}
}
