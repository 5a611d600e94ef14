package dynamo

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/lawcket/lawcket/syncspec"
)

// IndexName is the name of the GSI for an unsharded index: true field
// (ShardIndexName for a sharded one): the field name
// followed by "-index" (field room → GSI room-index). It is the one naming
// convention shared by TableDefinition, Connections and `lawcket table`; a
// table created by other means must follow it.
func IndexName(field string) string { return field + "-index" }

// FieldIndexName is the name of an index field's GSI: ShardIndexName for
// a sharded field (shards: S), else IndexName.
func FieldIndexName(f syncspec.Field) string {
	return indexKey{field: f.Name, shards: f.Shards}.gsi()
}

// TableDefinition is the CreateTableInput for spec's table: partition key
// connectionId (S), on-demand billing (PAY_PER_REQUEST), and one GSI per
// index: true field, named IndexName(field), keyed by that field (N for
// number fields, else S) and projecting ALL attributes, so a Query on it
// returns whole rows. A sharded field's GSI (shards: S) is instead named
// ShardIndexName(field) and keyed by ShardAttr(field) (S), whatever S is.
// name overrides spec.Table when not empty. A nil spec yields the table
// with its key only.
//
// TTL is not part of CreateTable: enable it afterwards with TimeToLiveInput.
func TableDefinition(spec *syncspec.Spec, name string) *dynamodb.CreateTableInput {
	if name == "" && spec != nil {
		name = spec.Table
	}
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(AttrConnectionID), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(AttrConnectionID), KeyType: types.KeyTypeHash},
		},
	}
	if spec == nil {
		return in
	}
	for _, k := range indexKeys(spec) {
		attr, typ := k.attr()
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(attr), AttributeType: typ,
		})
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName:  aws.String(k.gsi()),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String(attr), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		})
	}
	return in
}

// TimeToLiveInput is the UpdateTimeToLive call that makes DynamoDB delete
// rows after their expiresAt (epoch seconds). It is nil when spec has no
// ttl. Call it once after the table is ACTIVE. name overrides spec.Table
// when not empty. (dynalite, used by the tests, has no TTL.)
func TimeToLiveInput(spec *syncspec.Spec, name string) *dynamodb.UpdateTimeToLiveInput {
	if spec == nil || spec.TTL <= 0 {
		return nil
	}
	if name == "" {
		name = spec.Table
	}
	return &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(AttrExpiresAt),
			Enabled:       aws.Bool(true),
		},
	}
}
