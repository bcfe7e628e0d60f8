//go:build race

package nfdump

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// allocation counts that rely on pooled buffers mean nothing.
const raceEnabled = true
