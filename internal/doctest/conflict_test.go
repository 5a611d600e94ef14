package doctest

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoConflictMarkers fails on a file of the tree that still holds a
// merge's conflict markers: "<<<<<<< ", then "=======", then ">>>>>>> ", each
// at the start of a line, in that order (a lone "=======" can be a Markdown
// heading's underline, so it alone is not a marker).
func TestNoConflictMarkers(t *testing.T) {
	root := root(t)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
		state, line, start := 0, 0, 0
		for sc.Scan() {
			line++
			l := sc.Text()
			switch {
			case strings.HasPrefix(l, "<<<<<<< "):
				state, start = 1, line
			case state == 1 && l == "=======":
				state = 2
			case state == 2 && strings.HasPrefix(l, ">>>>>>> "):
				rel, _ := filepath.Rel(root, path)
				t.Errorf("%s:%d: merge conflict markers (lines %d–%d)", rel, start, start, line)
				state = 0
			}
		}
		return nil // a binary file with an over-long line ends its scan: not text
	})
	if err != nil {
		t.Fatal(err)
	}
}
