package doctest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// maxReadme is the front page's budget: what lawcket is, one example, the
// quick start, the package map and links. The reference lives in docs/.
const maxReadme = 12 * 1024

func TestReadmeSize(t *testing.T) {
	fi, err := os.Stat(filepath.Join(root(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > maxReadme {
		t.Errorf("README.md is %d bytes, over the %d-byte front page: move the detail to a docs/ page and link it", fi.Size(), maxReadme)
	}
}

// TestReadmeProgram checks that the README's Go program is
// examples/readme/main.go, byte for byte: that program is built, vetted and
// run as a Lambda by its own test (examples/readme/main_test.go), so the
// README shows code that works.
func TestReadmeProgram(t *testing.T) {
	dir := root(t)
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	program, err := os.ReadFile(filepath.Join(dir, "examples", "readme", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	bs, err := blocks(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	var goBlocks []string
	for _, b := range bs {
		if b.lang == "go" {
			goBlocks = append(goBlocks, strings.Join(b.body, "\n")+"\n")
		}
	}
	if len(goBlocks) != 1 {
		t.Fatalf("README.md has %d ```go blocks, want exactly one: examples/readme/main.go", len(goBlocks))
	}
	if goBlocks[0] != string(program) {
		t.Errorf("README.md's ```go block is not examples/readme/main.go verbatim: copy the file into the README")
	}
}
