package doctest

import (
	"fmt"
	"regexp"
	"strings"
)

// A block is one fenced code block of a markdown file.
type block struct {
	lang  string            // the first word of the info string ("console", "yaml", "")
	attrs map[string]string // key=value words after it (file=NAME)
	line  int               // 1-based line of the opening fence
	body  []string          // the lines between the fences
}

// A step is one command of a transcript and the output shown under it.
type step struct {
	line      int      // 1-based markdown line of the "$ " prompt
	args      []string // the command's words after shell unquoting
	env       []string // VAR=value assignments before the command
	stdin     string   // the file of a trailing "< FILE", or ""
	want      []string // the output lines shown under the command
	wantFirst int      // 1-based markdown line of the first output line
	code      string   // the exit status an "echo $?" after it shows, or "" (not checked)
}

// A transcript is one ```console block that the test runs.
type transcript struct {
	line  int
	steps []step
}

// notChecked is how a ```console block that must not run starts; the rest of
// the line is the reason, shown to the reader.
const notChecked = "# not checked:"

// blocks returns the fenced code blocks of a markdown file. Fences are
// backtick lines (```lang attr=value), at the start of a line or indented
// (a block inside a list item): the body loses the opening fence's
// indentation.
func blocks(text string) ([]block, error) {
	lines := strings.Split(text, "\n")
	var out []block
	for i := 0; i < len(lines); i++ {
		open := strings.TrimLeft(lines[i], " ")
		indent := len(lines[i]) - len(open)
		if !strings.HasPrefix(open, "```") {
			continue
		}
		fence := open[:len(open)-len(strings.TrimLeft(open, "`"))] // ``` or longer
		words := strings.Fields(strings.TrimPrefix(open, fence))
		b := block{line: i + 1, attrs: map[string]string{}}
		for j, w := range words {
			if j == 0 && !strings.Contains(w, "=") {
				b.lang = w
				continue
			}
			k, v, ok := strings.Cut(w, "=")
			if !ok {
				return nil, fmt.Errorf("%d: fence word %q is neither the language nor key=value", i+1, w)
			}
			b.attrs[k] = v
		}
		closed := false
		for i++; i < len(lines); i++ {
			if c := strings.TrimSpace(lines[i]); strings.HasPrefix(c, fence) && strings.Trim(c, "`") == "" {
				closed = true
				break
			}
			l := lines[i]
			b.body = append(b.body, l[min(indent, len(l)-len(strings.TrimLeft(l, " "))):])
		}
		if !closed {
			return nil, fmt.Errorf("%d: code block not closed", b.line)
		}
		out = append(out, b)
		if b.lang == "markdown" {
			// Markdown shown as source: its own blocks are checked too
			// (a transcript there runs like any other).
			inner, err := blocks(strings.Join(b.body, "\n"))
			if err != nil {
				return nil, fmt.Errorf("%d: in the markdown block: %w", b.line, err)
			}
			for _, ib := range inner {
				ib.line += b.line
				out = append(out, ib)
			}
		}
	}
	return out, nil
}

var envAssign = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// parseTranscript reads a ```console block: "$ " lines are commands (a line
// ending in a backslash continues on the next), the lines up to the next
// prompt are its output. Only lawcket commands and "echo $?" (the previous
// command's exit status) are allowed. It returns nil for a block that starts
// with notChecked.
func parseTranscript(b block) (*transcript, error) {
	if len(b.body) > 0 && strings.HasPrefix(b.body[0], notChecked) {
		if strings.TrimSpace(strings.TrimPrefix(b.body[0], notChecked)) == "" {
			return nil, fmt.Errorf("%d: %q needs a reason", b.line+1, notChecked)
		}
		return nil, nil
	}
	t := &transcript{line: b.line}
	for i := 0; i < len(b.body); i++ {
		ln := b.line + 1 + i
		l := b.body[i]
		if !strings.HasPrefix(l, "$ ") {
			if len(t.steps) == 0 {
				return nil, fmt.Errorf("%d: a console block starts with a \"$ \" command (or %q and a reason)", ln, notChecked)
			}
			last := &t.steps[len(t.steps)-1]
			if len(last.want) == 0 {
				last.wantFirst = ln
			}
			last.want = append(last.want, l)
			continue
		}
		cmd := strings.TrimPrefix(l, "$ ")
		for strings.HasSuffix(cmd, "\\") && i+1 < len(b.body) {
			i++
			cmd = strings.TrimSuffix(cmd, "\\") + " " + strings.TrimSpace(b.body[i])
		}
		words, err := shellWords(cmd)
		if err != nil {
			return nil, fmt.Errorf("%d: %v", ln, err)
		}
		if len(words) == 2 && words[0] == "echo" && words[1] == "$?" {
			if len(t.steps) == 0 {
				return nil, fmt.Errorf("%d: echo $? before any command", ln)
			}
			if i+1 >= len(b.body) || strings.HasPrefix(b.body[i+1], "$ ") {
				return nil, fmt.Errorf("%d: echo $? must be followed by the status", ln)
			}
			prev := &t.steps[len(t.steps)-1]
			if prev.code != "" {
				return nil, fmt.Errorf("%d: a second echo $?", ln)
			}
			i++
			prev.code = strings.TrimSpace(b.body[i])
			continue
		}
		s := step{line: ln}
		for len(words) > 0 && envAssign.MatchString(words[0]) {
			s.env = append(s.env, words[0])
			words = words[1:]
		}
		if n := len(words); n >= 2 && words[n-2] == "<" {
			s.stdin, words = words[n-1], words[:n-2]
		}
		if len(words) == 0 || words[0] != "lawcket" {
			return nil, fmt.Errorf("%d: only lawcket commands and echo $? run in a transcript (start the block with %q and a reason otherwise)", ln, notChecked)
		}
		for _, w := range words {
			if w == "|" || w == ">" || w == "<" || w == "&&" || w == ";" {
				return nil, fmt.Errorf("%d: %q is not supported in a transcript (start the block with %q and a reason)", ln, w, notChecked)
			}
		}
		s.args = words
		t.steps = append(t.steps, s)
	}
	if len(t.steps) == 0 {
		return nil, fmt.Errorf("%d: an empty console block", b.line)
	}
	return t, nil
}

// shellWords splits a command line as a POSIX shell would for the simple
// commands transcripts hold: single quotes, double quotes (with \" \\ \$
// escapes) and backslash escapes; no expansion, except that "$?" stays as
// it is.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated single quote in %q", s)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unterminated double quote in %q", s)
			}
			inWord = true
		case c == '\\':
			if i+1 < len(s) {
				i++
				cur.WriteByte(s[i])
			}
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

var (
	goVersion = regexp.MustCompile(`\bgo1\.[0-9]+(\.[0-9]+)?((rc|beta)[0-9]+)?\b`)
	platform  = regexp.MustCompile(`\b(linux|darwin|windows|freebsd|openbsd|netbsd)/(amd64|arm64|386|arm|riscv64|ppc64le|s390x)\b`)
)

// normalize replaces what differs between machines — the Go version and the
// platform a binary was built for — by fixed words, in the expected and the
// actual output alike.
func normalize(s string) string {
	s = goVersion.ReplaceAllString(s, "GOVERSION")
	return platform.ReplaceAllString(s, "GOOS/GOARCH")
}
