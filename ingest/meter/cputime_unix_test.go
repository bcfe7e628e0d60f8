//go:build unix

package meter

import (
	"syscall"
	"time"
)

// processCPU is the process's user+system CPU time; benchmarks use it to
// report throughput per CPU second, which stays meaningful on a loaded
// machine where wall-clock rates do not.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
