package syncspec

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/v2"
	yaml "go.yaml.in/yaml/v3"
)

// A section is one top-level key of lawcket.yaml. The top level is
// table-driven: walkSections hands each key's value node to its section's
// parse, and an unknown key is reported with the closest known one.
//
// Adding a section is one entry. In the section's own file (say
// syncspec/api.go), add the Spec fields it fills and register it:
//
//	var _ = registerSection(section{
//		key:   "api",
//		parse: func(p *parser, v *yaml.Node, s *Spec) { ... },
//	})
//
// parse reads the value node and appends every problem it finds at the
// node it is about with p.errNode(node, "api.path", format, args...) —
// all problems are collected, none stops the walk. The helpers for it are
// in yaml.go: p.pairs (a mapping's pairs, duplicate and merge keys
// reported), p.unknownKey (with "did you mean"), p.scalar, p.boolean,
// resolve (aliases) and isNull. finish, if set, runs after every section
// was parsed and the settings layered (present says whether the key was in
// the file), for checks that need the whole Spec.
type section struct {
	key    string
	parse  func(p *parser, v *yaml.Node, s *Spec)
	finish func(p *parser, s *Spec, present bool)
}

// sections are the known top-level keys, in the order the documentation
// lists them; registerSection appends to it.
var sections = []section{
	{key: "table", parse: settingParser("table")},
	{key: "ttl", parse: settingParser("ttl")},
	{key: "env", parse: func(p *parser, v *yaml.Node, s *Spec) { s.Env = p.walkEnv(v) }},
	{key: "fields", parse: func(p *parser, v *yaml.Node, s *Spec) { p.fields = p.walkFields(v) }, finish: finishFields},
}

// registerSection adds a top-level section (see section). It returns
// nothing useful; it is called as `var _ = registerSection(...)`.
func registerSection(s section) struct{} {
	if slices.ContainsFunc(sections, func(o section) bool { return o.key == s.key }) {
		panic("syncspec: section " + s.key + " registered twice")
	}
	sections = append(sections, s)
	return struct{}{}
}

func sectionKeys() []string {
	keys := make([]string, len(sections))
	for i, s := range sections {
		keys[i] = s.key
	}
	return keys
}

// walkSections gives each top-level key's node to its section, and says
// which keys were present.
func (p *parser) walkSections(doc *yaml.Node, spec *Spec) map[string]bool {
	present := map[string]bool{}
	p.pairs(doc, "", func(k, v *yaml.Node) {
		i := slices.IndexFunc(sections, func(s section) bool { return s.key == k.Value })
		if i < 0 {
			p.unknownKey(k, "", sectionKeys())
			return
		}
		present[k.Value] = true
		sections[i].parse(p, v, spec)
	})
	return present
}

// A setting is a scalar top-level key that a LAWCKET_* environment
// variable overrides. Its section's parse only reads the file's value
// (settingParser); layerSettings merges file and environment with koanf
// and checks the result once, positioned at the file's node or naming the
// variable, whichever the value came from.
type setting struct {
	key, env string
	// what the value must be, for messages.
	what string
	// node, if set, checks what only the file can get wrong (a YAML
	// number where a duration needs a unit).
	node func(v *yaml.Node) string
	// missing is the problem when neither the file nor the environment
	// sets it ("" when it is optional).
	missing string
	// check validates the merged value and stores it in s; it returns the
	// problem, or "".
	check func(v string, s *Spec) string
}

var settings = []setting{
	{key: "table", env: EnvTable, what: "a table name", missing: fmt.Sprintf("table is required (or set %s)", EnvTable), check: func(v string, s *Spec) string {
		if msg := checkTable(v); msg != "" {
			return msg
		}
		s.Table = v
		return ""
	}},
	{key: "ttl", env: EnvTTL, what: `a duration such as "3h"`, node: func(v *yaml.Node) string {
		if tag := v.ShortTag(); tag == "!!int" || tag == "!!float" {
			return fmt.Sprintf("invalid duration %s: a number needs a unit, such as %ss or %sh", v.Value, v.Value, v.Value)
		}
		return ""
	}, check: func(v string, s *Spec) string {
		d, msg := checkTTL(v)
		s.TTL = d
		return msg
	}},
}

// settingParser reads a setting's scalar from the file into the file
// layer, remembering its node for positions.
func settingParser(key string) func(p *parser, v *yaml.Node, s *Spec) {
	return func(p *parser, v *yaml.Node, s *Spec) {
		st := settings[slices.IndexFunc(settings, func(st setting) bool { return st.key == key })]
		val, ok := p.scalar(v, key, st.what)
		if ok && st.node != nil {
			if msg := st.node(resolve(v)); msg != "" {
				p.errNode(v, key, "%s", msg)
				ok = false
			}
		}
		if !ok {
			p.settingNodes[key] = nil // present, and already reported
			return
		}
		p.settingNodes[key] = v
		p.fileLayer[key] = val
	}
}

// envOverrides are the LAWCKET_* settings set (non-empty) in the
// environment, as KEY=VALUE for koanf's env provider.
func (p *parser) envOverrides() []string {
	var environ []string
	for _, st := range settings {
		if v, ok := p.opts.lookupEnv(st.env); ok && v != "" {
			environ = append(environ, st.env+"="+v)
			p.envSet[st.key] = true
		}
	}
	return environ
}

// layerSettings merges the file's settings and the environment overrides
// into one configuration with koanf (the environment wins), and checks
// each merged value once.
func (p *parser) layerSettings(doc *yaml.Node, spec *Spec) {
	const delim = "\x00" // keys are plain names
	k := koanf.New(delim)
	fileLayer := make(map[string]any, len(p.fileLayer))
	for key, v := range p.fileLayer {
		fileLayer[key] = v
	}
	environ := p.environ
	envProvider := env.Provider(delim, env.Opt{
		Prefix:      "LAWCKET_",
		EnvironFunc: func() []string { return environ },
		TransformFunc: func(name, v string) (string, any) {
			for _, st := range settings {
				if st.env == name {
					return st.key, v
				}
			}
			return "", nil // not a setting: dropped
		},
	})
	if err := k.Load(confmap.Provider(fileLayer, ""), nil); err != nil {
		p.errNode(doc, "", "%v", err)
		return
	}
	if err := k.Load(envProvider, nil); err != nil {
		p.errNode(doc, "", "%v", err)
		return
	}
	for _, st := range settings {
		node, inFile := p.settingNodes[st.key]
		if inFile && node == nil && !p.envSet[st.key] {
			continue // the file's value was reported
		}
		if !k.Exists(st.key) {
			if st.missing != "" {
				p.errNode(doc, st.key, "%s", st.missing)
			}
			continue
		}
		if node != nil && p.envSet[st.key] {
			// The environment wins, but the file stays valid on its own
			// (it is deployed elsewhere without the override).
			if msg := st.check(p.fileLayer[st.key], &Spec{}); msg != "" {
				p.errNode(node, st.key, "%s", msg)
			}
		}
		msg := st.check(k.String(st.key), spec)
		switch {
		case msg == "":
		case p.envSet[st.key]:
			p.errs = append(p.errs, &Error{File: p.file, EnvVar: st.env, Message: msg})
		default:
			p.errNode(node, st.key, "%s", msg)
		}
	}
}

var (
	tableName = regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,255}$`)
	envName   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// secretEnv are variables the Lambda runtime sets with credentials: an
// expression could copy them into rows that others can read.
var secretEnv = map[string]bool{
	"AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true,
}

func checkTable(s string) string {
	if !tableName.MatchString(s) {
		return fmt.Sprintf("invalid table name %q: 3 to 255 letters, digits, '_', '-' or '.'", s)
	}
	return ""
}

func checkTTL(s string) (time.Duration, string) {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return 0, fmt.Sprintf("invalid duration %q: want a Go duration such as 3h or 90m", s)
	case d <= 0:
		return 0, fmt.Sprintf("invalid duration %q: must be positive", s)
	}
	return d, ""
}

func (p *parser) walkEnv(v *yaml.Node) []string {
	if isNull(resolve(v)) {
		return nil
	}
	names, _, _ := p.stringList(v, "env", "env must be a list of variable names, such as [STAGE_NAME]", "a variable name", func(s string) string {
		switch {
		case !envName.MatchString(s):
			return fmt.Sprintf("invalid variable name %q: letters, digits and '_', not starting with a digit", s)
		case secretEnv[s]:
			return fmt.Sprintf("%s holds AWS credentials and cannot be exposed to expressions", s)
		}
		return ""
	})
	return names
}

// emptyDocument is what a file without content stands for when the
// environment sets the table: a spec without fields.
func (p *parser) emptyDocument() bool {
	return p.envSet["table"]
}

// topKeysList is the allowed top-level keys, for messages.
func topKeysList() string { return strings.Join(sectionKeys(), ", ") }
