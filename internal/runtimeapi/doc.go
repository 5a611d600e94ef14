// Package runtimeapi emulates the AWS Lambda Runtime API and runs a Lambda
// handler binary (an unmodified lambda.Start program, or any custom runtime)
// behind it, in a pool of processes, as Lambda runs a function in execution
// environments. `lawcket dev` (internal/devgw) invokes the user's handler
// through it; the lawcket-sync tests and the sync demo run the bootstrap
// through it when the AWS Lambda Runtime Interface Emulator is not installed.
//
// # What it emulates
//
// Each process gets its own Runtime API endpoint on loopback
// (AWS_LAMBDA_RUNTIME_API) serving GET /2018-06-01/runtime/invocation/next
// (with the Lambda-Runtime-Aws-Request-Id, -Deadline-Ms,
// -Invoked-Function-Arn and -Trace-Id headers), POST .../{id}/response (up
// to 6 MB; a Lambda-Runtime-Function-Error-Type trailer makes it an error),
// POST .../{id}/error and POST /runtime/init/error. The environment is this
// process's without AWS credentials, profiles and endpoints, plus the
// variables Lambda sets (AWS_REGION, AWS_LAMBDA_FUNCTION_NAME,
// AWS_LAMBDA_LOG_GROUP_NAME, _HANDLER, LAMBDA_TASK_ROOT, ...) and
// FunctionConfig.Env.
//
// # Lifecycle
//
// StartFunction validates a FunctionConfig and starts Concurrency processes;
// it returns without waiting for them (WaitReady waits for the first one to
// ask for an invocation). A process handles one invocation at a time; all
// processes take invocations from one queue. A process that exits is
// restarted (with a growing delay, up to 5 s, while it keeps failing its
// init); the invocation it held ends with ErrCrashed. While no process is
// healthy and the last start failed, Invoke fails at once with
// ErrUnavailable wrapping the init error. An invocation not answered within
// FunctionConfig.Timeout of a process taking it ends with ErrTimeout and its
// process is killed, as Lambda ends a timed-out environment. The wait for a
// free process counts toward that timeout only while no process is healthy;
// while they are all busy (where Lambda would start another environment) an
// invocation waits up to MaxQueueWait. Close stops the processes (SIGTERM to
// each process group, then SIGKILL after 2 s).
//
// # Concurrency
//
// A Function's methods are safe for concurrent use. Invoke blocks until a
// process takes the invocation (bounded by its ctx and by the timeout) and
// answers it.
package runtimeapi
