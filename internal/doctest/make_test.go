package doctest

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var (
	// In prose only inline code counts ("`make chat`"); in a code block, a
	// line that runs make ("make chat", "$ make chat").
	makeInline = regexp.MustCompile("`make ([a-z][a-z-]*)")
	makeLine   = regexp.MustCompile(`^(?:\$ )?make ([a-z][a-z-]*)`)
	makeTarget = regexp.MustCompile(`(?m)^([a-z][a-z-]*):`)
)

// TestMakeTargets checks that every make command of README.md and docs/
// names a target of the Makefile.
func TestMakeTargets(t *testing.T) {
	dir := root(t)
	mk, err := os.ReadFile(filepath.Join(dir, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]bool{}
	for _, m := range makeTarget.FindAllStringSubmatch(string(mk), -1) {
		targets[m[1]] = true
	}
	for _, md := range markdownFiles(t, dir) {
		text, err := os.ReadFile(filepath.Join(dir, md))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, m := range makeInline.FindAllStringSubmatch(string(text), -1) {
			names = append(names, m[1])
		}
		bs, err := blocks(string(text))
		if err != nil {
			t.Fatalf("%s:%v", md, err)
		}
		for _, b := range bs {
			for _, l := range b.body {
				if m := makeLine.FindStringSubmatch(l); m != nil {
					names = append(names, m[1])
				}
			}
		}
		for _, n := range names {
			if !targets[n] {
				t.Errorf("%s: make %s: the Makefile has no target %s", md, n, n)
			}
		}
	}
}
