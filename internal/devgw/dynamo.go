package devgw

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/lawcket/lawcket/channels"
	"github.com/lawcket/lawcket/dynamo"
	"github.com/lawcket/lawcket/internal/localdynamo"
	"github.com/lawcket/lawcket/syncspec"
)

// startDynamo starts the embedded DynamoDB unless an endpoint is configured,
// then creates the spec's table.
func (g *Gateway) startDynamo(ctx context.Context) error {
	if g.cfg.DynamoDBEndpoint != "" {
		u, err := url.Parse(g.cfg.DynamoDBEndpoint)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return fmt.Errorf("devgw: DynamoDB endpoint %q: want a URL like http://127.0.0.1:8000", g.cfg.DynamoDBEndpoint)
		}
		g.dynamoURL = strings.TrimRight(g.cfg.DynamoDBEndpoint, "/")
	} else {
		// LAWCKET_DEV_DYNAMODB_NOINDEX=1 answers Queries by scanning, as
		// before the embedded store was indexed: the benchmarks' baseline.
		d, err := localdynamo.Start(localdynamo.Options{NoIndex: os.Getenv("LAWCKET_DEV_DYNAMODB_NOINDEX") == "1"})
		if err != nil {
			return fmt.Errorf("devgw: embedded DynamoDB: %w", err)
		}
		g.dynamo = d
		g.dynamoURL = d.URL()
	}
	if g.cfg.SpecPath != "" && !g.cfg.NoSpecTable {
		if err := g.createTable(ctx); err != nil {
			g.stopDynamo()
			return err
		}
	}
	if err := g.createTables(ctx); err != nil {
		g.stopDynamo()
		return err
	}
	return nil
}

func (g *Gateway) stopDynamo() {
	if g.dynamo != nil {
		g.dynamo.Close()
		g.dynamo = nil
	}
}

// DynamoDBClient returns a client for the gateway's DynamoDB endpoint (with
// the local static credentials when it is embedded or on loopback).
func (g *Gateway) DynamoDBClient(ctx context.Context) (*dynamodb.Client, error) {
	c, err := localdynamo.Client(ctx, g.dynamoURL, g.cfg.Region)
	if err != nil {
		return nil, fmt.Errorf("devgw: %w", err)
	}
	return c, nil
}

// createTable creates the spec's table and GSIs (an existing table is kept).
func (g *Gateway) createTable(ctx context.Context) error {
	spec, err := syncspec.Load(g.cfg.SpecPath)
	if err != nil {
		return err // positioned FILE:LINE:COL by syncspec
	}
	def := dynamo.TableDefinition(spec, spec.Table)
	if def == nil || def.TableName == nil {
		return fmt.Errorf("devgw: %s: no table definition for table %q", g.cfg.SpecPath, spec.Table)
	}
	g.table = *def.TableName
	client, err := g.DynamoDBClient(ctx)
	if err != nil {
		return err
	}
	defs := []*dynamodb.CreateTableInput{def}
	if sub := channels.TableDefinition(spec, ""); sub != nil {
		defs = append(defs, sub) // the channels: section's subscriptions table
	}
	for _, def := range defs {
		if err := g.ensureTable(ctx, client, def); err != nil {
			return err
		}
	}
	return nil
}

// ensureTable creates def's table (an existing one is kept) and logs which.
func (g *Gateway) ensureTable(ctx context.Context, client *dynamodb.Client, def *dynamodb.CreateTableInput) error {
	name := aws.ToString(def.TableName)
	created, err := localdynamo.EnsureTable(ctx, client, def)
	if err != nil {
		return fmt.Errorf("devgw: at %s: %w", g.dynamoURL, err)
	}
	if !created {
		g.log.Info("table exists; keeping it", "table", name)
		return nil
	}
	var gsis []string
	for _, x := range def.GlobalSecondaryIndexes {
		gsis = append(gsis, aws.ToString(x.IndexName))
	}
	g.log.Info("created table", "table", name, "gsis", strings.Join(gsis, ","))
	return nil
}

// TableName is the table created from the spec, empty without one.
func (g *Gateway) TableName() string { return g.table }
