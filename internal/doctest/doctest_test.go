package doctest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/diff"
	"github.com/rogpeppe/go-internal/testscript"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/lawcket/lawcket/internal/cli"
)

var update = flag.Bool("update", false, "write the actual output of every transcript back into the markdown")

// TestMain makes the test binary also the lawcket command: testscript puts a
// copy called lawcket on the scripts' PATH, and running it runs cli.Main,
// exactly what cmd/lawcket's main does.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"lawcket": func() {
			os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
		},
	})
}

// root is the repository's root directory (two levels up from this package).
func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("repository root: %v", err)
	}
	return dir
}

// markdownFiles returns README.md and every .md file under docs/, relative
// to the root, with forward slashes.
func markdownFiles(t *testing.T, dir string) []string {
	t.Helper()
	files := []string{"README.md"}
	err := filepath.WalkDir(filepath.Join(dir, "docs"), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".md") {
			rel, err := filepath.Rel(dir, path)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	sort.Strings(files[1:])
	return files
}

// An outputUpdate is the output of one step, to write back with -update.
type outputUpdate struct {
	file        string // markdown file, relative to the root
	first, last int    // 1-based markdown lines of the shown output; last < first when it shows none
	after       int    // the command's last line, where output is inserted when none is shown
	text        string // the actual output
}

var (
	updatesMu sync.Mutex
	updates   []outputUpdate
)

// TestTranscripts runs every ```console block of README.md and docs/ (see
// docs/README.md for the conventions) and compares the output each command
// prints with the output shown under it.
func TestTranscripts(t *testing.T) {
	dir := root(t)
	scripts := t.TempDir()
	steps := map[string]step{} // by "file:line"
	for _, md := range markdownFiles(t, dir) {
		text, err := os.ReadFile(filepath.Join(dir, md))
		if err != nil {
			t.Fatal(err)
		}
		bs, err := blocks(string(text))
		if err != nil {
			t.Errorf("%s:%v", md, err)
			continue
		}
		ar := &txtar.Archive{Comment: []byte("# the transcripts of " + md + "\n")}
		var script strings.Builder
		files := map[string]bool{}
		n := 0
		for _, b := range bs {
			if name := b.attrs["file"]; name != "" {
				if files[name] {
					t.Errorf("%s:%d: file=%s is defined twice", md, b.line, name)
				}
				files[name] = true
				ar.Files = append(ar.Files, txtar.File{Name: name, Data: []byte(strings.Join(b.body, "\n") + "\n")})
			}
			if b.lang == "markdown" {
				continue // its blocks follow it in bs, checked one by one
			}
			if b.lang != "console" {
				for i, l := range b.body {
					if strings.HasPrefix(l, "$ lawcket") {
						t.Errorf("%s:%d: a transcript of a lawcket command must be a ```console block (see docs/README.md)", md, b.line+1+i)
					}
				}
				continue
			}
			tr, err := parseTranscript(b)
			if err != nil {
				t.Errorf("%s:%v", md, err)
				continue
			}
			if tr == nil {
				continue // # not checked: reason
			}
			for _, s := range tr.steps {
				n++
				loc := fmt.Sprintf("%s:%d", md, s.line)
				steps[loc] = s
				want := fmt.Sprintf(".doctest/want/%d", n)
				data := ""
				if len(s.want) > 0 {
					data = strings.Join(s.want, "\n") + "\n"
				}
				ar.Files = append(ar.Files, txtar.File{Name: want, Data: []byte(data)})
				if s.stdin != "" {
					fmt.Fprintf(&script, "stdin %s\n", quote(s.stdin))
				}
				code := s.code
				if code == "" {
					code = "-"
				}
				fmt.Fprintf(&script, "transcript %s %s %s", quote(loc), quote(want), quote(code))
				for _, w := range append(append([]string{}, s.env...), s.args...) {
					script.WriteString(" " + quote(w))
				}
				script.WriteString("\n")
			}
		}
		if n == 0 {
			continue
		}
		ar.Comment = append(ar.Comment, script.String()...)
		name := strings.NewReplacer("/", "-", ".md", "").Replace(md) + ".txtar"
		if err := os.WriteFile(filepath.Join(scripts, name), txtar.Format(ar), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	if t.Failed() {
		return
	}
	if *update {
		t.Cleanup(func() { applyUpdates(t, dir) })
	}
	testscript.Run(t, testscript.Params{
		Dir:             scripts,
		ContinueOnError: true,
		Setup: func(env *testscript.Env) error {
			// The transcripts run from the root of a clone: link its
			// top-level files into the script's directory.
			entries, err := os.ReadDir(dir)
			if err != nil {
				return err
			}
			for _, e := range entries {
				switch e.Name() {
				case ".git", "node_modules", "bin":
					continue
				}
				link := filepath.Join(env.WorkDir, e.Name())
				if err := os.Symlink(filepath.Join(dir, e.Name()), link); err != nil {
					return fmt.Errorf("file= block %s hides the repository's %s: %w", e.Name(), e.Name(), err)
				}
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"transcript": func(ts *testscript.TestScript, neg bool, args []string) {
				runStep(ts, steps[args[0]], args)
			},
		},
	})
}

// runStep is the transcript command: transcript LOC WANTFILE CODE
// [VAR=value...] lawcket ARGS... runs the command with the assignments in its
// environment and compares stdout followed by stderr with WANTFILE, and the
// exit status with CODE unless CODE is "-".
func runStep(ts *testscript.TestScript, s step, args []string) {
	loc, wantFile, code := args[0], args[1], args[2]
	rest := args[3:]
	var restore []func()
	for len(rest) > 0 && envAssign.MatchString(rest[0]) {
		k, v, _ := strings.Cut(rest[0], "=")
		old := ts.Getenv(k)
		ts.Setenv(k, v)
		restore = append(restore, func() { ts.Setenv(k, old) })
		rest = rest[1:]
	}
	err := ts.Exec(rest[0], rest[1:]...)
	for _, f := range restore {
		f()
	}
	status := 0
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		status = exitErr.ExitCode()
	case err != nil:
		ts.Fatalf("%s: %v", loc, err)
	}
	got := ts.ReadFile("stdout") + ts.ReadFile("stderr")
	want := ts.ReadFile(wantFile)
	file, _, _ := strings.Cut(loc, ":")
	if *update {
		first := s.wantFirst
		last := first + len(s.want) - 1
		if len(s.want) == 0 {
			first, last = 0, -1
		}
		updatesMu.Lock()
		updates = append(updates, outputUpdate{file: file, first: first, last: last, after: s.line, text: got})
		updatesMu.Unlock()
	} else if normalize(got) != normalize(want) {
		ts.Fatalf("%s: $ %s: the output differs from the docs (go test ./internal/doctest -update writes it back):\n%s",
			loc, strings.Join(rest, " "), diff.Diff("docs", []byte(normalize(want)), "lawcket", []byte(normalize(got))))
	}
	if code != "-" && strconv.Itoa(status) != code {
		ts.Fatalf("%s: $ %s: exit status %d, the docs show %s", loc, strings.Join(rest, " "), status, code)
	}
}

// quote quotes a word for a testscript line: single quotes, a quote inside
// doubled.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// applyUpdates writes the recorded outputs back into the markdown files.
func applyUpdates(t *testing.T, dir string) {
	byFile := map[string][]outputUpdate{}
	for _, u := range updates {
		byFile[u.file] = append(byFile[u.file], u)
	}
	for file, us := range byFile {
		path := filepath.Join(dir, file)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Error(err)
			continue
		}
		lines := strings.Split(string(data), "\n")
		// Last first, so that earlier line numbers stay valid.
		sort.Slice(us, func(i, j int) bool { return us[i].after > us[j].after })
		for _, u := range us {
			repl := strings.Split(strings.TrimSuffix(u.text, "\n"), "\n")
			if u.text == "" {
				repl = nil
			}
			from, to := u.first-1, u.last // lines[from:to] is the shown output
			if u.last < u.first {
				from, to = u.after, u.after
			}
			lines = append(lines[:from], append(repl, lines[to:]...)...)
		}
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o666); err != nil {
			t.Error(err)
		}
	}
}
