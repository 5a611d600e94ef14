package fanout

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// SQSSender is the part of an SQS client Enqueue uses; *sqs.Client of
// github.com/aws/aws-sdk-go-v2/service/sqs satisfies it (the module pins
// v1.43.2, which speaks SQS's AWS JSON protocol).
type SQSSender interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// MaxBatchEntries is SQS's limit of messages per SendMessageBatch.
const MaxBatchEntries = 10

// MaxBatchBytes is the most message bytes Enqueue puts in one
// SendMessageBatch (SQS's 256 KiB limit on a batch's total payload).
const MaxBatchBytes = MaxJobBytes

// EnqueueAttempts bounds how many times Enqueue sends one job: an entry
// SQS refused for a reason on its side (SenderFault false, as a throttled
// or internal error) is sent again, at most this many times in all.
const EnqueueAttempts = 3

// EnqueueReport is the exact outcome of Enqueue: every job given is either
// in Messages (enqueued, with the message id SQS gave it) or in Failures.
type EnqueueReport struct {
	// Jobs is how many jobs were given; Enqueued + Failed == Jobs.
	Jobs     int `json:"jobs"`
	Enqueued int `json:"enqueued"`
	Failed   int `json:"failed"`
	// Calls counts the SendMessageBatch calls (the SDK's own retries of a
	// call not included); Resent counts entries sent again after SQS
	// refused them in an otherwise successful call.
	Calls  int `json:"calls"`
	Resent int `json:"resent"`
	// Messages lists the enqueued jobs in the order given.
	Messages []EnqueuedJob `json:"messages"`
	// Failures lists the jobs not enqueued, in the order given.
	Failures []EnqueueFailure `json:"failures"`
}

// EnqueuedJob is one job on the queue.
type EnqueuedJob struct {
	// Index is the job's position in the jobs given to Enqueue.
	Index     int    `json:"index"`
	Segment   int    `json:"segment"`
	MessageID string `json:"messageId"`
	// Attempts is how many times it was sent (1 unless SQS refused it
	// before).
	Attempts int `json:"attempts"`
}

// EnqueueFailure is one job Enqueue could not put on the queue.
type EnqueueFailure struct {
	Index   int `json:"index"`
	Segment int `json:"segment"`
	// Code and SenderFault are SQS's answer for the entry (SenderFault:
	// the message itself is refused, so it was not sent again); empty when
	// the whole call failed.
	Code        string `json:"code,omitempty"`
	SenderFault bool   `json:"senderFault,omitempty"`
	Error       string `json:"error"`
	Attempts    int    `json:"attempts"`
	// Ambiguous is true when the call failed without an answer from SQS
	// (connection lost, deadline): the job may be on the queue all the
	// same.
	Ambiguous bool `json:"ambiguous,omitempty"`
}

// Enqueue puts jobs (from Plan) on the SQS queue at queueURL, one message
// per job, in SendMessageBatch calls of at most MaxBatchEntries messages
// and MaxBatchBytes bytes. Every job is encoded first: if one cannot be
// (Job.Encode), nothing is sent and the error says which.
//
// Delivery contract. The SDK retries a failed call (throttling, 5xx,
// connection errors) with its standard retryer; entries SQS refused in a
// successful call are Enqueue's to resend: those with SenderFault false
// are sent again, up to EnqueueAttempts sends in all, the others not at
// all. What was not enqueued is in the report's Failures with its index,
// segment and SQS's code; the error is non-nil when any job failed (or the
// context ended: the jobs not sent are failures with the context's error).
// A call that failed without an answer may have enqueued its jobs all the
// same (Ambiguous); sending them again is the caller's choice, since a job
// on the queue twice runs twice.
//
// On the queue, SQS standard queues deliver each message at least once:
// rarely a job is delivered, and run, twice. Worker.HandleSQS asks for a
// redelivery only of what can run again without posting twice (see the
// package documentation), but a duplicate delivery by SQS itself runs the
// job again, so under the default at-most-once contract a connection may
// then get the payload twice; gone rows already deleted are not posted to
// again. Payloads should carry an id (the Broadcast name is in every job)
// for clients to drop a repeat.
func Enqueue(ctx context.Context, q SQSSender, queueURL string, jobs []Job) (EnqueueReport, error) {
	rep := EnqueueReport{Jobs: len(jobs), Messages: []EnqueuedJob{}, Failures: []EnqueueFailure{}}
	if q == nil || queueURL == "" {
		return rep, errors.New("fanout: Enqueue needs an SQS client and a queue URL")
	}
	bodies := make([]string, len(jobs))
	for i, j := range jobs {
		b, err := j.Encode()
		if err != nil {
			return rep, fmt.Errorf("fanout: job %d: %w (nothing enqueued)", i, err)
		}
		bodies[i] = string(b)
	}
	attempts := make([]int, len(jobs))
	done := make([]*EnqueuedJob, len(jobs))
	failed := make([]*EnqueueFailure, len(jobs))
	pending := make([]int, len(jobs))
	for i := range pending {
		pending[i] = i
	}
	for round := 0; len(pending) > 0; round++ {
		if round > 0 {
			// SQS refused some entries for reasons on its side: wait a
			// little before sending them again.
			t := time.NewTimer(time.Duration(round) * 100 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
		}
		var again []int
		for start := 0; start < len(pending); {
			end, size := start, 0
			for end < len(pending) && end-start < MaxBatchEntries && size+len(bodies[pending[end]]) <= MaxBatchBytes {
				size += len(bodies[pending[end]])
				end++
			}
			batch := pending[start:end]
			start = end
			if err := ctx.Err(); err != nil {
				for _, i := range batch {
					failed[i] = &EnqueueFailure{Index: i, Segment: jobs[i].Segment, Error: err.Error(), Attempts: attempts[i]}
				}
				continue
			}
			entries := make([]types.SendMessageBatchRequestEntry, len(batch))
			for k, i := range batch {
				entries[k] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(bodies[i])}
				attempts[i]++
			}
			rep.Calls++
			out, err := q.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: entries})
			if err != nil {
				ambiguous := !isAPIError(err)
				for _, i := range batch {
					failed[i] = &EnqueueFailure{Index: i, Segment: jobs[i].Segment, Error: err.Error(), Attempts: attempts[i], Ambiguous: ambiguous}
				}
				continue
			}
			answered := make(map[int]bool, len(batch))
			inBatch := make(map[int]bool, len(batch))
			for _, i := range batch {
				inBatch[i] = true
			}
			for _, s := range out.Successful {
				i, ok := entryIndex(s.Id, inBatch)
				if !ok || answered[i] {
					continue
				}
				answered[i] = true
				done[i] = &EnqueuedJob{Index: i, Segment: jobs[i].Segment, MessageID: aws.ToString(s.MessageId), Attempts: attempts[i]}
			}
			for _, f := range out.Failed {
				i, ok := entryIndex(f.Id, inBatch)
				if !ok || answered[i] {
					continue
				}
				answered[i] = true
				if !f.SenderFault && attempts[i] < EnqueueAttempts {
					again = append(again, i)
					rep.Resent++
					continue
				}
				failed[i] = &EnqueueFailure{Index: i, Segment: jobs[i].Segment, Code: aws.ToString(f.Code), SenderFault: f.SenderFault,
					Error: aws.ToString(f.Message), Attempts: attempts[i]}
			}
			for _, i := range batch {
				if !answered[i] {
					failed[i] = &EnqueueFailure{Index: i, Segment: jobs[i].Segment, Error: "SQS answered neither success nor failure for the entry",
						Attempts: attempts[i], Ambiguous: true}
				}
			}
		}
		pending = again
	}
	for i := range jobs {
		switch {
		case done[i] != nil:
			rep.Messages = append(rep.Messages, *done[i])
		case failed[i] != nil:
			rep.Failures = append(rep.Failures, *failed[i])
		}
	}
	rep.Enqueued, rep.Failed = len(rep.Messages), len(rep.Failures)
	if rep.Failed > 0 {
		f := rep.Failures[0]
		return rep, fmt.Errorf("fanout: %d of %d jobs not enqueued on %s (first: job %d, segment %d: %s)", rep.Failed, rep.Jobs, queueURL, f.Index, f.Segment, f.Error)
	}
	return rep, nil
}

// entryIndex reads back the batch entry id Enqueue gave (the job's index).
func entryIndex(id *string, inBatch map[int]bool) (int, bool) {
	i, err := strconv.Atoi(aws.ToString(id))
	return i, err == nil && inBatch[i]
}

// isAPIError says whether err carries an answer of SQS (the call reached
// it and was refused), as opposed to a transport error or an ended context.
func isAPIError(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr)
}
