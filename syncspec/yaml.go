package syncspec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// parser collects every problem of one spec.
type parser struct {
	file  string
	data  []byte
	lines [][]rune
	opts  *options
	errs  Errors
	// environ is the LAWCKET_* overrides set in the environment, envSet
	// the settings they set.
	environ []string
	envSet  map[string]bool
	// fileLayer is the settings' values read from the file, settingNodes
	// their nodes (nil: present, but already reported).
	fileLayer    map[string]string
	settingNodes map[string]*yaml.Node
	// fields are the sound fields of fields:, compiled by finishFields.
	fields []fieldNodes
	// literalNodes counts the values of literals so far.
	literalNodes int
}

func newParser(name string, data []byte, o *options) *parser {
	p := &parser{
		file: name, data: data, lines: splitLines(string(data)), opts: o,
		envSet: map[string]bool{}, fileLayer: map[string]string{}, settingNodes: map[string]*yaml.Node{},
	}
	p.environ = p.envOverrides()
	return p
}

// splitLines splits YAML source at its line breaks — LF, CR LF, CR, and
// NEL, LS and PS, as the YAML scanner counts lines — into runes.
func splitLines(s string) [][]rune {
	var lines [][]rune
	var cur []rune
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		switch rs[i] {
		case '\r':
			if i+1 < len(rs) && rs[i+1] == '\n' {
				i++
			}
			fallthrough
		case '\n', '\u0085', '\u2028', '\u2029':
			lines = append(lines, cur)
			cur = nil
			continue
		}
		cur = append(cur, rs[i])
	}
	return append(lines, cur)
}

func (p *parser) errAt(line, col int, path, format string, args ...any) *Error {
	// The YAML parser places some implicit nodes (a missing value at the
	// end of the stream) past the last line: clamp into the file.
	if line > len(p.lines) {
		line, col = len(p.lines), len(p.lines[len(p.lines)-1])+1
	}
	line, col = max(line, 1), max(col, 1)
	e := &Error{File: p.file, Line: line, Column: col, Path: path, Message: fmt.Sprintf(format, args...)}
	p.errs = append(p.errs, e)
	return e
}

// errNode reports a problem at node n; path is the key path it is about
// ("fields.room.expr").
func (p *parser) errNode(n *yaml.Node, path, format string, args ...any) *Error {
	return p.errAt(n.Line, n.Column, path, format, args...)
}

// checkTabs reports every tab in a line's indentation: YAML indents with
// spaces only. It returns the lines that have one.
func (p *parser) checkTabs() map[int]bool {
	tabs := map[int]bool{}
	for i, l := range p.lines {
		for j, c := range l {
			if c == '\t' {
				p.errAt(i+1, j+1, "", "tab character in indentation: YAML indents with spaces")
				tabs[i+1] = true
				break
			}
			if c != ' ' {
				break
			}
		}
	}
	return tabs
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlMessage splits a yaml.v3 error into its line (0 if none) and message.
func yamlMessage(err error) (int, string) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line := 0
		fmt.Sscan(m[1], &line)
		return line, m[2]
	}
	return 0, strings.TrimPrefix(msg, "yaml: ")
}

// countingReader counts the bytes the YAML decoder has read.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += n
	return n, err
}

// parseYAML parses the file into a node tree. A syntax error is reported
// at its line (see syntaxLine), unless a tab on that line already
// explains it.
func (p *parser) parseYAML(tabs map[int]bool) (*yaml.Node, bool) {
	cr := &countingReader{r: bytes.NewReader(p.data)}
	dec := yaml.NewDecoder(cr)
	var root yaml.Node
	err := dec.Decode(&root)
	if errors.Is(err, io.EOF) {
		return &root, true
	}
	if err == nil {
		var next yaml.Node
		if err2 := dec.Decode(&next); !errors.Is(err2, io.EOF) {
			p.errAt(max(next.Line, 1), 1, "", "only one YAML document is allowed")
			return nil, false
		}
		return &root, true
	}
	line, msg := yamlMessage(err)
	if l := p.syntaxLine(msg, line, cr.n); l > 0 {
		line = l
	}
	if !tabs[line] {
		p.errAt(max(line, 1), p.firstCol(line), "", "YAML syntax error: %s", msg)
	}
	return nil, false
}

// yamlLookahead bounds how far past a problem yaml.v3's reader has read
// when it reports it (its raw and decoded buffers).
const yamlLookahead = 4 << 10

// syntaxLine finds the line of a syntax error: the shortest prefix of the
// file, ending at a line break, that fails with the same message ends
// there. (yaml.v3 reports some errors without a line, and parser errors
// at the line before the one where their context starts.) The decoder
// reads its input as it parses, so the problem lies in the last
// yamlLookahead bytes it read (read); only the lines there are searched,
// by bisection: a constant number of prefix parses, so the time is linear
// in the file's size. It returns 0 when no prefix matches.
func (p *parser) syntaxLine(msg string, reported, read int) int {
	if l := p.badRune(msg); l > 0 {
		return l
	}
	// ends[i] is the offset just after line i+1's break.
	var ends []int
	for i, b := range p.data {
		if b == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(ends) == 0 || ends[len(ends)-1] != len(p.data) {
		ends = append(ends, len(p.data))
	}
	fails := func(i int) bool {
		var n yaml.Node
		err := yaml.Unmarshal(p.data[:ends[i]], &n)
		if err == nil {
			return false
		}
		_, m := yamlMessage(err)
		return m == msg
	}
	lo := 0 // the first line the problem can be on (0-based)
	for lo < len(ends) && ends[lo] < read-yamlLookahead {
		lo++
	}
	if reported > 1 && reported-2 > lo {
		lo = reported - 2 // the context starts at most a line before the report
	}
	hi := len(ends) - 1
	for hi < len(ends)-1 && ends[hi] < read {
		hi++
	}
	for hi > lo && ends[hi-1] >= read {
		hi--
	}
	if lo > hi || !fails(hi) {
		return 0
	}
	for lo < hi {
		mid := (lo + hi) / 2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return hi + 1
}

// badRune finds the line of a character the YAML reader refuses (it
// reports those without a line): invalid UTF-8 or a control character.
func (p *parser) badRune(msg string) int {
	if !strings.Contains(msg, "control characters") && !strings.Contains(msg, "invalid") {
		return 0
	}
	line := 1
	data := p.data
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if (r == utf8.RuneError && size == 1) || !printable(r, i) {
			return line
		}
		if r == '\n' || (r == '\r' && (i+1 >= len(data) || data[i+1] != '\n')) || r == '\u0085' || r == '\u2028' || r == '\u2029' {
			line++
		}
		i += size
	}
	return 0
}

// printable is YAML's c-printable (and a BOM at the start).
func printable(r rune, at int) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r' || r == '\u0085':
		return true
	case r >= 0x20 && r <= 0x7e, r >= 0xa0 && r <= 0xd7ff, r >= 0x10000 && r <= 0x10ffff:
		return true
	case r >= 0xe000 && r <= 0xfffd:
		return r != 0xfeff || at == 0
	}
	return false
}

// firstCol is the column of the first non-blank rune of a line (1 if none).
func (p *parser) firstCol(line int) int {
	if line < 1 || line > len(p.lines) {
		return 1
	}
	for i, c := range p.lines[line-1] {
		if c != ' ' && c != '\t' {
			return i + 1
		}
	}
	return 1
}

// document returns the top-level mapping, reporting an empty or
// non-mapping document.
func (p *parser) document(root *yaml.Node) *yaml.Node {
	if root.Kind == 0 || len(root.Content) == 0 || isNull(root.Content[0]) {
		if p.emptyDocument() {
			return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1, Column: 1}
		}
		p.errAt(1, 1, "table", "the spec is empty: table is required (or set %s)", EnvTable)
		return nil
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		p.errNode(doc, "", "the spec must be a mapping with keys %s", topKeysList())
		return nil
	}
	return doc
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// pairs iterates over a mapping's key/value pairs, reporting duplicate
// keys, merge keys and non-scalar keys (those pairs are skipped).
func (p *parser) pairs(m *yaml.Node, path string, each func(key, val *yaml.Node)) {
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		switch {
		case k.Kind != yaml.ScalarNode:
			p.errNode(k, path, "a key must be a plain name")
			continue
		case k.ShortTag() == "!!merge":
			p.errNode(k, path, "merge keys (<<) are not supported")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.errNode(k, join(path, k.Value), "duplicate key %s (first at %d:%d)", k.Value, first.Line, first.Column)
			continue
		}
		seen[k.Value] = k
		each(k, v)
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// unknownKey reports key as unknown, suggesting the closest allowed one.
func (p *parser) unknownKey(k *yaml.Node, path string, allowed []string) {
	msg := fmt.Sprintf("unknown key %s", k.Value)
	if s := suggest(k.Value, allowed); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	} else {
		msg += fmt.Sprintf(" (allowed: %s)", strings.Join(allowed, ", "))
	}
	p.errNode(k, join(path, k.Value), "%s", msg)
}

// scalar returns a scalar's text, reporting anything else as not what.
func (p *parser) scalar(v *yaml.Node, path, what string) (string, bool) {
	v = resolve(v)
	if v.Kind != yaml.ScalarNode || isNull(v) {
		p.errNode(v, path, "must be %s", what)
		return "", false
	}
	return v.Value, true
}

// stringList walks a list of distinct strings at path: notList is the
// message when v is not a list, what names an element (see scalar), and
// check, when not nil, says why an element is refused ("" to keep it).
// It returns the strings kept with their (resolved) nodes, and whether
// every element was kept.
func (p *parser) stringList(v *yaml.Node, path, notList, what string, check func(s string) string) ([]string, []*yaml.Node, bool) {
	v = resolve(v)
	if v.Kind != yaml.SequenceNode {
		p.errNode(v, path, "%s", notList)
		return nil, nil, false
	}
	var out []string
	var nodes []*yaml.Node
	seen := map[string]bool{}
	ok := true
	for i, n := range v.Content {
		ip := fmt.Sprintf("%s[%d]", path, i)
		s, good := p.scalar(n, ip, what)
		if !good {
			ok = false
			continue
		}
		msg := ""
		if check != nil {
			msg = check(s)
		}
		switch {
		case msg != "":
			p.errNode(n, ip, "%s", msg)
		case seen[s]:
			p.errNode(n, ip, "%s is listed twice", s)
		default:
			seen[s] = true
			out, nodes = append(out, s), append(nodes, resolve(n))
			continue
		}
		ok = false
	}
	return out, nodes, ok
}

// resolve follows aliases to the node they stand for.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// boolean reads true or false; ok is passed through (false on a problem).
func (p *parser) boolean(v *yaml.Node, path string, ok bool) (bool, bool) {
	v = resolve(v)
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!bool" {
		msg := "must be true or false"
		if v.Kind == yaml.ScalarNode && v.Style == 0 && strings.Contains("|yes|no|on|off|y|n|", "|"+strings.ToLower(v.Value)+"|") {
			msg += fmt.Sprintf(" (%s is a string in YAML 1.2)", v.Value)
		}
		p.errNode(v, path, "%s", msg)
		return false, false
	}
	var b bool
	if err := v.Decode(&b); err != nil {
		p.errNode(v, path, "%v", err)
		return false, false
	}
	return b, ok
}
