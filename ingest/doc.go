// Package ingest is Flowgate's pluggable pipeline: Sources that produce
// UniRec records, Outputs that deliver them, and the Pipeline that runs any
// number of the former into any number of the latter.
//
// What lives here:
//
//   - output.go: the Output interface. Nothing here (or above) assumes an
//     output is a TRAP interface; trapout.go is the TRAP implementation,
//     wrapping trap.Output, and a Kafka output can sit beside it later.
//   - source.go: the Source interface and Target, the handle a source emits
//     records through. Outputs that carry the same UniRec template share one
//     Target, so a source converts each record once per distinct template.
//   - pipeline.go: Pipeline, which runs sources until the context ends or
//     every source has finished its input, then flushes every output before
//     returning (a SIGTERM loses nothing that was received).
//   - collector_source.go, listen*.go: the collector source (NetFlow v5/v9
//     and IPFIX over UDP, IPFIX over TCP) on top of package collector's
//     Decoder, one Decoder per target template; templates persist across
//     restarts through the decoder's state file (StateFile).
//   - sflow_source.go: the sFlow v5 source (sflow://) on package
//     collector/sflow's decoder and converters.SflowConverter, reading
//     with the collector's blocking recvmmsg batches (udpSocket); per-agent and per-interface
//     counters for the metrics.
//   - nfdump_source.go, pcap_source.go, csv_source.go: file replays of nfdump
//     files, pcap captures (through the flow meter in ingest/meter) and
//     logger CSV archives.
//   - trap_source.go: a TRAP input interface as a source (u:, t:, T:, f:,
//     and k: to consume a Kafka topic, e.g. to re-key it or run in-process
//     consumers on it).
//
// The UDP and TCP listeners live here, not in collector (which only
// decodes): one socket has to feed several Decoders (one per output
// template), and on shutdown the sockets are drained (read until the kernel
// queue is empty) instead of being closed with datagrams still queued.
package ingest
