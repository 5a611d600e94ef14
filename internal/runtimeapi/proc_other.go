//go:build !unix

package runtimeapi

import "os/exec"

// ownProcessGroup does nothing where process groups are not available.
func ownProcessGroup(*exec.Cmd) {}

// terminateProcess stops cmd (no SIGTERM here: it is killed).
func terminateProcess(cmd *exec.Cmd) { _ = cmd.Process.Kill() }

// killProcess kills cmd.
func killProcess(cmd *exec.Cmd) { _ = cmd.Process.Kill() }
