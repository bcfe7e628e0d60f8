// Package detectors holds what every detector port shares; each detector
// lives in a subpackage (detectors/vportscan, detectors/haddrscan, ...)
// holding only its algorithm.
//
// # The contract
//
// A detector is a plain value built from its Config and a Clock. It
// imports unirec, never trap, so the same code runs in a NEMEA module
// (cmd/<name>, through cmd/internal/detmod) and inside the flowgate daemon.
// It implements Detector:
//
//   - InputSpec is the UniRec spec of the fields it reads: the required
//     set of the subset rule. Any sender template holding these fields
//     (with these types) is accepted; extra fields are ignored.
//   - Bind is called with the sender's template before the first record
//     and after every template change. It resolves field ids once
//     (Resolve) and fails with an error naming the first missing field.
//   - Process handles one record of the bound template. Alerts leave
//     through the Emit function as records of the OutputSpec template;
//     the record is only valid during the call (send or copy it). An error
//     returned by Emit ends processing and is returned by Process.
//   - Finish is called at end of stream; detectors that report pending
//     state at exit emit it there, the others do nothing.
//   - Stats returns the counters (records, skipped IPv6 flows, alerts,
//     table entries, evictions, expiries). They may be read from another
//     goroutine while Process runs.
//
// Process is not safe for concurrent use: one goroutine feeds a detector.
// Steady-state Process allocates nothing.
//
// # Time
//
// The C modules age their state by the wall clock (time(NULL)); a fast
// replay then never expires anything, and a slow one expires at random.
// Clock abstracts it: WallClock (the default, as in C) and FlowClock
// ("now" = the largest TIME_LAST seen, deterministic for replays and
// tests). Every detector calls Clock.Observe with each record's TIME_LAST
// before it asks Now, so the flow clock advances with the data. The
// modules select it with --clock wall|flow (ParseClock).
//
// # Bounded tables
//
// Per-key state lives in Table, a map with a hard entry cap. When a new
// key arrives at a full table, an old entry is evicted (the least recently
// touched of a few sampled at random) and counted; a detector documents
// its caps in its Config and -h. Idle-time pruning walks the whole table,
// as the C modules walk their trees.
package detectors
