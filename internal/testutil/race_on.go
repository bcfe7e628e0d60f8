//go:build race

package testutil

// RaceEnabled reports whether the tests run under the race detector, which
// multiplies memory use and slows long loops: heap bounds and allocation
// counts do not hold there.
const RaceEnabled = true
