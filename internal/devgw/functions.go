package devgw

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket/internal/runtimeapi"
)

// Function is one of the API's functions when it has several (a
// template's): its own handler processes, environment and timeout.
type Function struct {
	// Name is how RouteFunctions names it (a template's logical id).
	Name string
	// Config runs it. Its Env is added after the gateway's variables
	// (endpoints, credentials, LAWCKET_CONFIG, Config.Env); zero fields
	// take the gateway's Dir, Concurrency, Timeout, Region, Logger and
	// Output; FunctionName defaults to Name.
	Config runtimeapi.FunctionConfig
}

// Table is a table created at Start besides the spec's (a template's).
type Table struct {
	// Definition creates it; an existing table is kept.
	Definition *dynamodb.CreateTableInput
	// TTLAttribute, when set, turns on TTL on this attribute (a failure,
	// as with a store that has no TTL, is logged, not fatal).
	TTLAttribute string
}

// setFunctionDefaults fills in Config's function defaults from Command (it
// resolves it) or, with Functions and no Command, without it; then each
// Function's.
func setFunctionDefaults(cfg *Config) error {
	hasCommand := len(cfg.Command) > 0 && cfg.Command[0] != ""
	if !hasCommand && len(cfg.Functions) == 0 {
		return errors.New("devgw: no handler command (lawcket dev [flags] -- COMMAND [ARGS...])")
	}
	fc := cfg.function()
	if hasCommand {
		if err := fc.SetDefaults(); err != nil {
			return fmt.Errorf("devgw: %w", err)
		}
	} else {
		fc.FillDefaults() // the same defaults, for the Functions to inherit
	}
	cfg.Command = fc.Command
	cfg.Concurrency, cfg.Timeout = fc.Concurrency, fc.Timeout
	cfg.FunctionName, cfg.Region, cfg.Logger, cfg.Output = fc.FunctionName, fc.Region, fc.Logger, fc.Output
	seen := map[string]bool{}
	for i := range cfg.Functions {
		f := &cfg.Functions[i]
		if f.Name == "" || seen[f.Name] {
			return fmt.Errorf("devgw: function %d: a unique Name is required", i)
		}
		seen[f.Name] = true
		c := &f.Config
		if c.Dir == "" {
			c.Dir = cfg.Dir
		}
		if c.Concurrency == 0 {
			c.Concurrency = cfg.Concurrency
		}
		if c.Timeout == 0 {
			c.Timeout = cfg.Timeout
		}
		if c.FunctionName == "" {
			c.FunctionName = f.Name
		}
		if c.Region == "" {
			c.Region = cfg.Region
		}
		if c.Logger == nil {
			c.Logger = cfg.Logger
		}
		if c.Output == nil {
			c.Output = cfg.Output
		}
		if err := c.SetDefaults(); err != nil {
			return fmt.Errorf("devgw: function %s: %w", f.Name, err)
		}
	}
	for key, name := range cfg.RouteFunctions {
		if !seen[name] {
			return fmt.Errorf("devgw: route %s: no function named %q", key, name)
		}
	}
	return nil
}

// startFunctions starts Command's processes (when there is a Command) and
// each Function's.
func (g *Gateway) startFunctions(ctx context.Context) error {
	env := g.childEnv()
	if len(g.cfg.Command) > 0 {
		fc := g.cfg.function()
		fc.Env = env
		fn, err := runtimeapi.StartFunction(ctx, fc)
		if err != nil {
			return err
		}
		g.fn = fn
	}
	g.fns = make(map[string]*runtimeapi.Function, len(g.cfg.Functions))
	for _, f := range g.cfg.Functions {
		fc := f.Config
		fc.Env = append(append([]string{}, env...), f.Config.Env...)
		fn, err := runtimeapi.StartFunction(ctx, fc)
		if err != nil {
			g.closeFunctions()
			return fmt.Errorf("devgw: function %s: %w", f.Name, err)
		}
		g.fns[f.Name] = fn
	}
	return nil
}

// function is the function that runs routeKey: its RouteFunctions entry,
// else Command's; nil when the route has no integration (a template
// without that route).
func (g *Gateway) function(routeKey string) *runtimeapi.Function {
	if name, ok := g.cfg.RouteFunctions[routeKey]; ok {
		return g.fns[name]
	}
	return g.fn // nil without a Command
}

// Function is the started function named name (one of Config.Functions),
// nil when there is none; valid after Start. The authorizer of `lawcket dev
// --template` invokes its function through it.
func (g *Gateway) Function(name string) *runtimeapi.Function { return g.fns[name] }

// waitReady waits until every function has a process asking for work.
func (g *Gateway) waitReady(ctx context.Context) error {
	if g.fn != nil {
		if err := g.fn.WaitReady(ctx); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(g.fns))
	for n := range g.fns {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := g.fns[n].WaitReady(ctx); err != nil {
			return fmt.Errorf("function %s: %w", n, err)
		}
	}
	return nil
}

func (g *Gateway) closeFunctions() {
	if g.fn != nil {
		g.fn.Close()
	}
	for _, fn := range g.fns {
		fn.Close()
	}
}

// createTables creates Config.Tables and turns their TTL on.
func (g *Gateway) createTables(ctx context.Context) error {
	if len(g.cfg.Tables) == 0 {
		return nil
	}
	client, err := g.DynamoDBClient(ctx)
	if err != nil {
		return err
	}
	for _, t := range g.cfg.Tables {
		name := aws.ToString(t.Definition.TableName)
		if g.table == "" {
			g.table = name // what RowsOutput prints
		}
		if err := g.ensureTable(ctx, client, t.Definition); err != nil {
			return err
		}
		if t.TTLAttribute == "" {
			continue
		}
		_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName:               aws.String(name),
			TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(t.TTLAttribute), Enabled: aws.Bool(true)},
		})
		if err != nil {
			// minidyn and dynalite have no UpdateTimeToLive: rows never
			// expire there (lawcket filters expired rows on read).
			g.log.Info("TTL not turned on: this DynamoDB has no UpdateTimeToLive, expired rows stay", "table", name, "attribute", t.TTLAttribute)
			g.log.Debug("UpdateTimeToLive failed", "table", name, "err", err)
		}
	}
	return nil
}
