package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/lawcket/lawcket/internal/stack"
)

const templateAbout = `
Print the whole deployable stack that lawcket.yaml describes: the WebSocket
API with $connect, $disconnect, $default and every route of api.routes, an
integration and invoke permission per function, the REQUEST authorizer of
api.authorizer, the functions (provided.al2023, a bootstrap built by sam
build's go1.x builder, arm64 by default), the connections table (key, one GSI
per index: true field, TTL, on-demand), a stage with api.throttling, log
groups with a retention, and outputs for the wss:// URL and the Management
API endpoint. Each function's IAM policy grants only what it calls, on this
table, its indexes and this API's stage (see docs/deploy.md).

--shape single: your function serves every route. split: routes with a
function: get their own function (CodeUri ./cmd/NAME, or --code NAME=DIR).
sync: the zero-code lawcket-sync serves $connect and $disconnect, built by
the Makefile target --makefile prints (lawcket.yaml shipped beside its
bootstrap); your function serves $default and the routes. --fanout adds an
SQS queue of broadcast segment jobs and its worker, lawcket-fanout. --sweep
'rate(15 minutes)' (sync shape, channels: section) adds an EventBridge rule
that runs lawcket-sync's sweep of gone connections on that schedule.

--format sam (the default) is for sam build and sam deploy; cloudformation
takes each function's zip from S3 (parameters CodeBucket and <Fn>CodeKey);
terraform takes each zip as a variable (<fn>_zip).`

func runTemplate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f := newFlags("template", "lawcket template [-c lawcket.yaml] [--format sam|cloudformation|terraform] [--shape single|split|sync] [flags]", templateAbout, stderr)
	config := configFlag(f.FlagSet)
	format := newChoice("sam", stack.Formats...)
	f.Var(format, "format", "output `format`: sam, cloudformation or terraform")
	shapes := make([]string, len(stack.Shapes))
	for i, s := range stack.Shapes {
		shapes[i] = string(s)
	}
	shape := newChoice(string(stack.Single), shapes...)
	f.Var(shape, "shape", "how routes map to functions: `single`, split or sync")
	codeURI := f.String("code-uri", ".", "the `dir` of your function's main package")
	code := &pairsFlag{}
	f.Var(code, "code", "`NAME=DIR`: the main package of a function lawcket.yaml names (repeatable; default ./cmd/NAME)")
	arch := newChoice("arm64", "arm64", "x86_64")
	f.Var(arch, "arch", "the functions' `architecture`: arm64 or x86_64")
	retention := f.Int("log-retention", 30, "the functions' log retention in `days`")
	stage := f.String("stage", "", "the stage `name` (default api.stage, else prod)")
	allow := f.String("allow", "", "extra grants for your functions, comma-separated: scan (broadcast to all), get-connection, delete-connection")
	fanout := f.Bool("fanout", false, "add the fan-out: an SQS queue of broadcast segment jobs (with a dead-letter queue) and its worker, lawcket-fanout")
	sweep := f.String("sweep", "", "with --shape sync and a channels: section, run lawcket-sync's sweep of gone connections on the EventBridge `schedule` (e.g. 'rate(15 minutes)')")
	makefile := f.Bool("makefile", false, "print the Makefile targets sam build runs for lawcket-sync (--shape sync) and lawcket-fanout (--fanout) instead of the template")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	if *makefile {
		fmt.Fprint(stdout, syncMakefile(*config, arch.value))
		return ExitOK
	}
	spec, ok := loadSpec(*config, stderr)
	if !ok {
		return ExitFindings
	}
	s, err := stack.New(spec, stack.Options{
		Shape: stack.Shape(shape.value), CodeURI: *codeURI, Code: code.m, Arch: arch.value,
		LogRetention: *retention, Stage: *stage, Allow: splitList(*allow), Fanout: *fanout, Sweep: *sweep,
	})
	if err != nil {
		return f.usageError(stderr, "%s", strings.TrimPrefix(err.Error(), "stack: "))
	}
	out, err := s.Render(format.value)
	if err != nil {
		fmt.Fprintf(stderr, "lawcket template: %v\n", err)
		return ExitFindings
	}
	stdout.Write(out)
	return ExitOK
}

// syncMakefile is the Makefile target sam build runs for SyncFunction
// (BuildMethod makefile, CodeUri "."): lawcket-sync's bootstrap, with the
// spec beside it as lawcket.yaml.
func syncMakefile(config, arch string) string {
	goarch := "arm64"
	if arch == "x86_64" {
		goarch = "amd64"
	}
	return fmt.Sprintf(`# sam build runs these targets for SyncFunction and FanoutFunction (BuildMethod:
# makefile, CodeUri: .), in a Go module that requires github.com/lawcket/lawcket.
build-SyncFunction:
	GOOS=linux GOARCH=%[1]s CGO_ENABLED=0 go build -tags lambda.norpc -o $(ARTIFACTS_DIR)/bootstrap github.com/lawcket/lawcket/cmd/lawcket-sync
	cp %[2]s $(ARTIFACTS_DIR)/lawcket.yaml

build-FanoutFunction:
	GOOS=linux GOARCH=%[1]s CGO_ENABLED=0 go build -tags lambda.norpc -o $(ARTIFACTS_DIR)/bootstrap github.com/lawcket/lawcket/cmd/lawcket-fanout
	cp %[2]s $(ARTIFACTS_DIR)/lawcket.yaml
`, goarch, filepath.ToSlash(config))
}

// pairsFlag is a repeatable NAME=VALUE flag.
type pairsFlag struct{ m map[string]string }

func (p *pairsFlag) String() string {
	if p == nil || len(p.m) == 0 {
		return ""
	}
	var parts []string
	for k, v := range p.m {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

func (p *pairsFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" || value == "" {
		return fmt.Errorf("want NAME=DIR, got %q", s)
	}
	if p.m == nil {
		p.m = map[string]string{}
	}
	if _, dup := p.m[name]; dup {
		return fmt.Errorf("%s is given twice", name)
	}
	p.m[name] = value
	return nil
}
