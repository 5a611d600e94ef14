package doctest

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

var (
	inlineLink = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	codeSpan   = regexp.MustCompile("`[^`]*`")
	heading    = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)
	mdLink     = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
)

// prose returns the lines of a markdown file outside fenced code blocks, with
// their 1-based numbers.
func prose(text string) map[int]string {
	out := map[int]string{}
	inFence := false
	for i, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimLeft(l, " "), "```") {
			inFence = !inFence
			continue
		}
		if !inFence {
			out[i+1] = l
		}
	}
	return out
}

// anchors returns the fragment ids GitHub gives the headings of a markdown
// file: the heading's text without markup, lower-cased, with everything but
// letters, digits, spaces, '-' and '_' dropped and spaces turned into '-'; a
// repeated id gets -1, -2, ….
func anchors(text string) map[string]bool {
	ids := map[string]bool{}
	seen := map[string]int{}
	lines := prose(text)
	for i := 1; i <= len(strings.Split(text, "\n")); i++ {
		l, ok := lines[i]
		if !ok {
			continue
		}
		m := heading.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		ids[slug(m[1], seen)] = true
	}
	return ids
}

// slug is GitHub's anchor for a heading's text; seen counts the anchors
// of the page so far, for the -1, -2 suffixes.
func slug(text string, seen map[string]int) string {
	t := mdLink.ReplaceAllString(text, "$1")
	t = strings.NewReplacer("`", "", "**", "", "*", "").Replace(t)
	var b strings.Builder
	for _, r := range strings.ToLower(t) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune('-')
		}
	}
	id := b.String()
	if n := seen[id]; n > 0 {
		seen[id]++
		id = fmt.Sprintf("%s-%d", id, n)
	} else {
		seen[id] = 1
	}
	return id
}

// TestLinks checks that every relative link of README.md and docs/ names a
// file or directory of the repository and, with a #fragment, a heading of
// that markdown file.
func TestLinks(t *testing.T) {
	dir := root(t)
	for _, md := range markdownFiles(t, dir) {
		text, err := os.ReadFile(filepath.Join(dir, md))
		if err != nil {
			t.Fatal(err)
		}
		for n, l := range prose(string(text)) {
			for _, m := range inlineLink.FindAllStringSubmatch(codeSpan.ReplaceAllString(l, ""), -1) {
				target := m[1]
				if rest, ok := strings.CutPrefix(target, "https://pkg.go.dev/"+modulePath); ok {
					checkPkgLink(t, dir, md, n, target, rest)
					continue
				}
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				file, frag, _ := strings.Cut(target, "#")
				rel := md
				if file != "" {
					rel = path.Join(path.Dir(md), file)
				}
				if strings.HasPrefix(rel, "../") || path.IsAbs(file) {
					t.Errorf("%s:%d: link %s leaves the repository", md, n, target)
					continue
				}
				fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel)))
				if err != nil {
					t.Errorf("%s:%d: link %s: no file %s in the repository", md, n, target, rel)
					continue
				}
				if frag == "" {
					continue
				}
				if fi.IsDir() || !strings.HasSuffix(rel, ".md") {
					t.Errorf("%s:%d: link %s: a #fragment needs a markdown file", md, n, target)
					continue
				}
				page, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
				if err != nil {
					t.Fatal(err)
				}
				if !anchors(string(page))[frag] {
					t.Errorf("%s:%d: link %s: %s has no heading #%s", md, n, target, rel, frag)
				}
			}
		}
	}
}

// TestCopies checks that a block marked from=PATH is that repository file,
// byte for byte.
func TestCopies(t *testing.T) {
	dir := root(t)
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
		for _, b := range bs {
			src := b.attrs["from"]
			if src == "" {
				continue
			}
			want, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(src)))
			if err != nil {
				t.Errorf("%s:%d: from=%s: %v", md, b.line, src, err)
				continue
			}
			if got := strings.Join(b.body, "\n") + "\n"; got != string(want) {
				t.Errorf("%s:%d: the block is not %s verbatim: copy the file into the page", md, b.line, src)
			}
		}
	}
}

// checkPkgLink checks a pkg.go.dev link to one of the module's packages:
// the package exists, and a #hdr-Some_heading fragment names a "# Some
// heading" of its doc comment. (Other fragments, such as #pkg-variables or
// a symbol, are left to pkg.go.dev.)
func checkPkgLink(t *testing.T, dir, md string, line int, target, rest string) {
	t.Helper()
	pkg, frag, _ := strings.Cut(rest, "#")
	name := short(modulePath + pkg)
	pkgDir := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(pkg, "/")))
	doc, err := os.ReadFile(filepath.Join(pkgDir, "doc.go"))
	if err != nil {
		t.Errorf("%s:%d: link %s: no package with a doc.go at %s", md, line, target, name)
		return
	}
	h, ok := strings.CutPrefix(frag, "hdr-")
	if !ok {
		return
	}
	want := "// # " + strings.ReplaceAll(h, "_", " ")
	for _, l := range strings.Split(string(doc), "\n") {
		if strings.TrimSpace(l) == want {
			return
		}
	}
	t.Errorf("%s:%d: link %s: the doc comment of %s has no heading %q", md, line, target, name, strings.TrimPrefix(want, "// "))
}

// TestIndex checks that docs/README.md, the index, links every page of docs/.
func TestIndex(t *testing.T) {
	dir := root(t)
	index, err := os.ReadFile(filepath.Join(dir, "docs", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, md := range markdownFiles(t, dir) {
		page, ok := strings.CutPrefix(md, "docs/")
		if !ok || page == "README.md" {
			continue
		}
		if !strings.Contains(string(index), "]("+page+")") {
			t.Errorf("docs/README.md does not link %s: add it to the index", md)
		}
	}
}
