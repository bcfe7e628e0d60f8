//go:build !race

package nfdump

const raceEnabled = false
