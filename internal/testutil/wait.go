package testutil

import (
	"testing"
	"time"
)

// WaitTimeout bounds the waits of WaitFor. It is far longer than anything
// a test waits for takes, even on a loaded two-core CI machine: a test that
// hits it is stuck, not slow.
const WaitTimeout = 30 * time.Second

// WaitFor polls cond, from a few milliseconds apart up to 50 ms apart,
// until it holds, and fails the test naming what it waited for when it
// still does not after WaitTimeout. Call it from the test's goroutine.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if !Eventually(WaitTimeout, cond) {
		t.Fatalf("still waiting for %s after %v", what, WaitTimeout)
	}
}

// Eventually polls cond like WaitFor and reports whether it held within d.
func Eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for pause := time.Millisecond; !cond(); {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pause)
		if pause < 50*time.Millisecond {
			pause *= 2
		}
	}
	return true
}
