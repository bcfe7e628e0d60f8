// Package examples holds Go rewrites of NEMEA's example modules: module,
// the C example module (two numbers in, their sum out; README "Writing a
// module" walks through it), and the three that NEMEA ships in Python
// (Nemea-Framework examples/python): a repeater, a detector that emits
// alerts, and a protocol aggregation. Each is a complete TRAP
// module built with the trap and unirec packages and is meant to be read.
package examples
