package doctest

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const modulePath = "github.com/lawcket/lawcket"

// importGraph returns, for each package of the module that has code, one
// line: the package, then the module's packages it imports, then in brackets
// the repositories of the other modules it imports (tests excluded),
// packages ordered lowest layer first.
func importGraph(t *testing.T, dir string) []string {
	t.Helper()
	run := func(args ...string) string {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go %s: %v", strings.Join(args, " "), err)
		}
		return string(out)
	}
	moduleOf := map[string]string{}
	for _, l := range strings.Split(run("list", "-deps", "-f", "{{if .Module}}{{.ImportPath}} {{.Module.Path}}{{end}}", "./..."), "\n") {
		if p, m, ok := strings.Cut(l, " "); ok {
			moduleOf[p] = m
		}
	}
	type pkg struct {
		name     string
		internal []string
		external []string
	}
	pkgs := map[string]*pkg{}
	for _, l := range strings.Split(strings.TrimSpace(run("list", "-f", "{{.ImportPath}}|{{len .GoFiles}}|{{join .Imports \" \"}}", "./...")), "\n") {
		parts := strings.SplitN(l, "|", 3)
		name := short(parts[0])
		if parts[1] == "1" && strings.TrimSpace(parts[2]) == "" {
			continue // doc.go only: a package of tests
		}
		p := &pkg{name: name}
		ext := map[string]bool{}
		for _, imp := range strings.Fields(parts[2]) {
			switch m := moduleOf[imp]; {
			case m == modulePath:
				p.internal = append(p.internal, short(imp))
			case m != "":
				ext[repo(m)] = true
			}
		}
		for m := range ext {
			p.external = append(p.external, m)
		}
		sort.Strings(p.external)
		pkgs[name] = p
	}
	// depth: 0 for a package importing none of the module's, else 1 + the
	// deepest of its imports.
	depth := map[string]int{}
	var walk func(string) int
	walk = func(n string) int {
		if d, ok := depth[n]; ok {
			return d
		}
		depth[n] = 0
		d := 0
		if p := pkgs[n]; p != nil {
			for _, i := range p.internal {
				d = max(d, walk(i)+1)
			}
		}
		depth[n] = d
		return d
	}
	var names []string
	width := 0
	for n := range pkgs {
		walk(n)
		names = append(names, n)
		width = max(width, len(n))
	}
	sort.Slice(names, func(i, j int) bool {
		if depth[names[i]] != depth[names[j]] {
			return depth[names[i]] < depth[names[j]]
		}
		return names[i] < names[j]
	})
	var lines []string
	for _, n := range names {
		p := pkgs[n]
		l := n + strings.Repeat(" ", width-len(n)) + " →"
		if len(p.internal) > 0 {
			l += " " + strings.Join(p.internal, ", ")
		}
		if len(p.external) > 0 {
			sep := "  "
			if len(p.internal) == 0 {
				sep = " "
			}
			l += sep + "[" + strings.Join(p.external, ", ") + "]"
		}
		lines = append(lines, strings.TrimRight(l, " "))
	}
	return lines
}

// repo names a module by its repository: github.com/aws/aws-sdk-go-v2/config
// and github.com/aws/aws-sdk-go-v2/service/dynamodb are both aws-sdk-go-v2,
// go.yaml.in/yaml/v3 is go.yaml.in/yaml.
func repo(module string) string {
	if rest, ok := strings.CutPrefix(module, "github.com/"); ok {
		if parts := strings.Split(rest, "/"); len(parts) >= 2 {
			return parts[1]
		}
	}
	if i := strings.LastIndex(module, "/v"); i > 0 && strings.Trim(module[i+2:], "0123456789") == "" {
		return module[:i]
	}
	return module
}

// short names a package of the module by its directory ("lawcket" for the root).
func short(importPath string) string {
	if importPath == modulePath {
		return "lawcket"
	}
	return strings.TrimPrefix(importPath, modulePath+"/")
}

// TestArchitectureImports checks that the imports block of
// docs/architecture.md (```text generated=imports) is what `go list` says
// today; -update rewrites it.
func TestArchitectureImports(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	dir := root(t)
	path := filepath.Join(dir, "docs", "architecture.md")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := blocks(string(data))
	if err != nil {
		t.Fatal(err)
	}
	var b *block
	for i := range bs {
		if bs[i].attrs["generated"] == "imports" {
			b = &bs[i]
		}
	}
	if b == nil {
		t.Fatal("docs/architecture.md has no ```text generated=imports block")
	}
	want := importGraph(t, dir)
	if strings.Join(b.body, "\n") == strings.Join(want, "\n") {
		return
	}
	if *update {
		lines := strings.Split(string(data), "\n")
		lines = append(lines[:b.line], append(want, lines[b.line+len(b.body):]...)...)
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o666); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("docs/architecture.md:%d: the imports block is not what go list says; go test ./internal/doctest -run TestArchitectureImports -update rewrites it, then check the prose around it. Today:\n%s",
		b.line, strings.Join(want, "\n"))
}

// TestArchitectureTable checks that every package of the module has a row
// in docs/architecture.md's table of packages and contracts.
func TestArchitectureTable(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	dir := root(t)
	data, err := os.ReadFile(filepath.Join(dir, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "./...")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		name := short(p)
		if !strings.Contains(string(data), "| [`"+name+"`](") && !strings.Contains(string(data), ", [`"+name+"`](") {
			t.Errorf("docs/architecture.md: package %s has no row in the table of packages (| [`%s`](../%s/doc.go) | concern | lifecycle and concurrency |)", name, name, name)
		}
	}
}
