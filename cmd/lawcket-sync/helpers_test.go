package main

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// plain renders an item's scalars as "S:value" / "N:value" for comparisons.
func plain(item map[string]types.AttributeValue) map[string]any {
	m := make(map[string]any, len(item))
	for k, v := range item {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			m[k] = "S:" + v.Value
		case *types.AttributeValueMemberN:
			m[k] = "N:" + v.Value
		default:
			m[k] = fmt.Sprintf("%T", v)
		}
	}
	return m
}
