package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"
)

// Errors returned by Table and Plugin, wrapping the SDK's original error
// (test with errors.Is; errors.As still reaches the SDK's typed error).
var (
	// ErrTableNotFound: the table (or the GSI queried) does not exist
	// (ResourceNotFoundException). Create it with TableDefinition.
	ErrTableNotFound = errors.New("dynamo: table not found")
	// ErrThrottled: DynamoDB throttled the request after the SDK's retries
	// (ProvisionedThroughputExceededException, ThrottlingException,
	// RequestLimitExceeded).
	ErrThrottled = errors.New("dynamo: throttled")
	// ErrConditionFailed: a condition expression was not met
	// (ConditionalCheckFailedException).
	ErrConditionFailed = errors.New("dynamo: condition failed")
	// ErrItemTooLarge: an item exceeds DynamoDB's 400 KB item size limit.
	// BuildItem refuses such items before any request is made.
	ErrItemTooLarge = errors.New("dynamo: item too large")
	// ErrInvalidRequest: DynamoDB refused the request as invalid
	// (ValidationException), e.g. a value whose type does not match a GSI key.
	ErrInvalidRequest = errors.New("dynamo: invalid request")
	// ErrNotFound: Table.Get found no live row for the connection (absent,
	// or its expiresAt has passed).
	ErrNotFound = errors.New("dynamo: connection not found")
	// ErrNotIndexed: Connections was asked to select by a field that is not
	// declared index: true in the spec.
	ErrNotIndexed = errors.New("dynamo: field is not indexed")
)

// translate classifies an SDK error once, at the package boundary. op is the
// DynamoDB operation (PutItem, DeleteItem, Query, Scan) and table its target.
func translate(op, table string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("dynamo: %s %s: %w", op, table, err)
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return fmt.Errorf("dynamo: %s %s: %w", op, table, err)
	}
	var sentinel error
	switch apiErr.ErrorCode() {
	case "ResourceNotFoundException":
		sentinel = ErrTableNotFound
	case "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded":
		sentinel = ErrThrottled
	case "ConditionalCheckFailedException":
		sentinel = ErrConditionFailed
	case "ValidationException":
		sentinel = ErrInvalidRequest
		if isSizeError(apiErr.ErrorMessage()) {
			sentinel = ErrItemTooLarge
		}
	case "ItemCollectionSizeLimitExceededException":
		sentinel = ErrItemTooLarge
	default:
		return fmt.Errorf("dynamo: %s %s: %w", op, table, err)
	}
	return fmt.Errorf("dynamo: %s %s: %w: %w", op, table, sentinel, err)
}

func isSizeError(msg string) bool {
	// "Item size has exceeded the maximum allowed size" (DynamoDB and dynalite).
	msg = strings.ToLower(msg)
	return strings.Contains(msg, "item size") && strings.Contains(msg, "exceed")
}

// Classify is how this package classifies an SDK error of operation op on
// table, exported for the packages that call DynamoDB next to it (package
// channels): the error wraps the matching sentinel and the SDK's error.
func Classify(op, table string, err error) error { return translate(op, table, err) }
