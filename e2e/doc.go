// Package e2e runs Flowgate's module binaries as real processes wired
// together over TRAP interfaces, the way operators and the NEMEA Supervisor
// run them, and checks the result against the reference tools' golden data.
package e2e
