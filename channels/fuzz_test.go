package channels_test

import (
	"strings"
	"testing"

	"github.com/lawcket/lawcket/channels"
)

// FuzzParsePath: any string parses or is refused, without a panic; a parsed
// path matches itself (when concrete) through every one of its patterns.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"/rooms/lobby", "/news/*", "/a/b/c/d/e", "", "/", "//", "/*", "/a/*/b", "/é/x", "/a#1/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := channels.ParsePath(s)
		if err != nil {
			return
		}
		if p.String() != s || len(p.Segments()) > channels.MaxSegments || strings.Contains(s, "#") {
			t.Fatalf("ParsePath(%q) = %q, %d segments", s, p, len(p.Segments()))
		}
		if p.Wildcard() {
			return
		}
		for _, pat := range p.Patterns() {
			q, err := channels.ParsePath(pat)
			if err != nil || !q.Matches(p) {
				t.Fatalf("pattern %q of %q: %v, matches %v", pat, s, err, err == nil && q.Matches(p))
			}
		}
	})
}
