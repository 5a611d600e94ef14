package dynamo

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/smithy-go"
)

func TestTranslate(t *testing.T) {
	api := func(code, msg string) error {
		return fmt.Errorf("operation error DynamoDB: PutItem: %w", &smithy.GenericAPIError{Code: code, Message: msg})
	}
	for _, tt := range []struct {
		name string
		err  error
		want error // nil: no sentinel
	}{
		{"missing table", api("ResourceNotFoundException", "Requested resource not found"), ErrTableNotFound},
		{"provisioned throughput", api("ProvisionedThroughputExceededException", ""), ErrThrottled},
		{"throttling", api("ThrottlingException", ""), ErrThrottled},
		{"request limit", api("RequestLimitExceeded", ""), ErrThrottled},
		{"condition", api("ConditionalCheckFailedException", ""), ErrConditionFailed},
		{"item size", api("ValidationException", "Item size has exceeded the maximum allowed size"), ErrItemTooLarge},
		{"validation", api("ValidationException", "Type mismatch for Index Key room"), ErrInvalidRequest},
		{"other API error", api("InternalServerError", ""), nil},
		{"deadline", fmt.Errorf("operation error: %w", context.DeadlineExceeded), nil},
		{"transport", errors.New("dial tcp: connection refused"), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := translate("PutItem", "Connections", tt.err)
			if !errors.Is(got, tt.err) {
				t.Errorf("%v does not wrap the original %v", got, tt.err)
			}
			for _, s := range []error{ErrTableNotFound, ErrThrottled, ErrConditionFailed, ErrItemTooLarge, ErrInvalidRequest} {
				if errors.Is(got, s) != (s == tt.want) {
					t.Errorf("errors.Is(%v, %v) = %v", got, s, !(s == tt.want))
				}
			}
			var apiErr smithy.APIError
			if errors.As(tt.err, &apiErr) && !errors.As(got, &apiErr) {
				t.Errorf("%v hides the SDK's APIError", got)
			}
		})
	}
	if translate("PutItem", "Connections", nil) != nil {
		t.Error("translate(nil) != nil")
	}
}
