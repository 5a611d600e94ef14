package syncspec

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/lawcket/lawcket/eval"
)

// Spec is a loaded, validated and compiled lawcket.yaml. Each top-level
// section fills its own fields (see sections.go); new sections add theirs.
type Spec struct {
	// File is the name the spec was loaded from (used in error positions).
	File string
	// Table is the connections table: table: or LAWCKET_TABLE.
	Table string
	// TTL is ttl: or LAWCKET_TTL; zero means rows do not expire.
	TTL time.Duration
	// Env is the allowlist of process environment variables expressions
	// may read as env.NAME (their values were read once, at load).
	Env []string
	// Fields are the entries of fields:, in file order.
	Fields []Field
	// Program computes the fields for a connection.
	Program *eval.Program
	// API is the api: section (api.go), or nil without one.
	API *API
	// Channels is the channels: section (see channels.go); nil without one.
	Channels *Channels
}

// Field is one entry of fields:: the eval.Field (whose Index is index:
// true: broadcast can select connections by this field through a GSI, and
// its Type is then String or Number; whose Shards is shards: S, the
// index's write-sharding, see package dynamo) and where it is in File.
type Field struct {
	eval.Field
	// Line and Column are the 1-based position of the field's name in File.
	Line   int
	Column int
}

// Environment variables that override the file.
const (
	EnvTable = "LAWCKET_TABLE"
	EnvTTL   = "LAWCKET_TTL"
)

// MaxFileBytes is the largest spec Load and Parse read; a larger one is
// refused before it is parsed.
const MaxFileBytes = 2 << 20

// Option configures Load and Parse.
type Option func(*options)

type options struct {
	lookupEnv func(string) (string, bool)
	eval      eval.Options
}

// WithLookupEnv makes Load and Parse read environment variables
// (LAWCKET_TABLE, LAWCKET_TTL and the env: allowlist) through lookup
// instead of os.LookupEnv, for tests and tools.
func WithLookupEnv(lookup func(string) (string, bool)) Option {
	return func(o *options) { o.lookupEnv = lookup }
}

// WithEvalOptions sets the compile bounds (MaxNodes, MemoryBudget) and the
// Logger passed to eval.Compile. Its Env and EnvNames are replaced by the
// spec's env:.
func WithEvalOptions(opts eval.Options) Option {
	return func(o *options) { o.eval = opts }
}

// Load reads, validates and compiles the spec at path. An invalid spec
// gives Errors listing every problem; a file that cannot be read gives the
// os error (test it with errors.Is(err, fs.ErrNotExist)).
func Load(path string, opts ...Option) (*Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("syncspec: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > MaxFileBytes {
		return nil, Errors{tooLarge(path, st.Size())}
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("syncspec: %w", err)
	}
	return Parse(path, data, opts...)
}

func tooLarge(name string, size int64) *Error {
	return &Error{File: name, Line: 1, Column: 1, Message: fmt.Sprintf("the spec is %d bytes; at most %d are read", size, MaxFileBytes)}
}

// Parse is Load for bytes already read; name is used in error positions.
func Parse(name string, data []byte, opts ...Option) (*Spec, error) {
	o := options{lookupEnv: os.LookupEnv}
	for _, opt := range opts {
		opt(&o)
	}
	if len(data) > MaxFileBytes {
		return nil, Errors{tooLarge(name, int64(len(data)))}
	}
	data, err := utf8Text(data)
	if err != nil {
		return nil, Errors{{File: name, Line: 1, Column: 1, Message: err.Error()}}
	}
	p := newParser(name, data, &o)
	spec := p.parse()
	if len(p.errs) > 0 {
		p.errs.sort()
		return nil, p.errs
	}
	return spec, nil
}

// IndexFields returns the fields with index: true, in file order.
func (s *Spec) IndexFields() []Field {
	var out []Field
	for _, f := range s.Fields {
		if f.Index {
			out = append(out, f)
		}
	}
	return out
}

// Field returns the field with the given name.
func (s *Spec) Field(name string) (Field, bool) {
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Evaluate computes the fields for a connect event: s.Program.Evaluate.
func (s *Spec) Evaluate(req *events.APIGatewayWebsocketProxyRequest) (map[string]any, error) {
	return s.Program.Evaluate(req)
}

// parse runs the pipeline: the YAML node tree, every section over its
// node, the settings layered with their environment overrides, and each
// section's finish step (the fields' compilation among them).
func (p *parser) parse() *Spec {
	tabs := p.checkTabs()
	root, ok := p.parseYAML(tabs)
	if !ok {
		return nil
	}
	doc := p.document(root)
	if doc == nil {
		return nil
	}
	spec := &Spec{File: p.file}
	present := p.walkSections(doc, spec)
	p.layerSettings(doc, spec)
	for _, sec := range sections {
		if sec.finish != nil {
			sec.finish(p, spec, present[sec.key])
		}
	}
	if len(p.errs) > 0 {
		return nil
	}
	return spec
}

// utf8Text returns the spec as UTF-8 without a byte order mark: YAML files
// may also be UTF-16 (with a BOM), which is transcoded, so that lines and
// columns count the same characters as the YAML parser.
func utf8Text(data []byte) ([]byte, error) {
	var order func(b []byte) uint16
	switch {
	case len(data) >= 3 && data[0] == 0xef && data[1] == 0xbb && data[2] == 0xbf:
		return data[3:], nil
	case len(data) >= 2 && data[0] == 0xff && data[1] == 0xfe:
		order = func(b []byte) uint16 { return uint16(b[0]) | uint16(b[1])<<8 }
	case len(data) >= 2 && data[0] == 0xfe && data[1] == 0xff:
		order = func(b []byte) uint16 { return uint16(b[1]) | uint16(b[0])<<8 }
	default:
		return data, nil
	}
	if len(data)%2 != 0 {
		return nil, errors.New("the spec starts with a UTF-16 byte order mark but has an odd number of bytes")
	}
	units := make([]uint16, 0, len(data)/2-1)
	for i := 2; i+1 < len(data); i += 2 {
		units = append(units, order(data[i:]))
	}
	out := make([]byte, 0, len(units))
	for _, r := range utf16.Decode(units) {
		out = utf8.AppendRune(out, r)
	}
	return out, nil
}
