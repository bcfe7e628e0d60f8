// Package examples holds Go rewrites of the three example modules that NEMEA
// ships in Python (Nemea-Framework examples/python): a repeater, a detector
// that emits alerts, and a protocol aggregation. Each is a complete TRAP
// module built with the trap and unirec packages and is meant to be read.
package examples
