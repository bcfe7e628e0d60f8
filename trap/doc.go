// Package trap is a Go implementation of NEMEA's TRAP transport (libtrap
// 1.18.2), wire- and disk-compatible with the C library: a C logger reads
// our outputs and our inputs read a C logreplay.
//
// # Interfaces and IFC_SPEC
//
// A module has input and output interfaces (IFCs), given on the command
// line as -i IFC_SPEC: a comma-separated list, inputs first, then outputs.
// Each IFC is a type letter and colon-separated parameters:
//
//	t:PORT / t:HOST:PORT         TCP output listening / input connecting
//	u:NAME                       UNIX socket $TRAP_SOCKET_DIR/trap-NAME.sock
//	T:[HOST:]PORT:KEY:CERT:CA    TLS (mutual) over TCP
//	f:PATH[:w|:a][:time=MIN][:size=MB]   .trapcap file output
//	f:PATTERN                    .trapcap file input (~, globs, several words)
//	b:                           blackhole output
//	k:TOPIC:HOST:PORT[:...]      Kafka topic (Flowgate's extension, kafka_*.go)
//
// Every IFC also takes timeout=WAIT|NO_WAIT|HALF_WAIT|µs, and outputs take
// buffer=on|off and autoflush=off|µs. "-h trap" prints the full help.
//
// # What lives where
//
//   - wire.go: hello, container headers, message framing, end of stream.
//   - format.go: data formats and the input's negotiation rules.
//   - ifcspec.go: IFC_SPEC parsing; ifc.go: the public Input and Output
//     (negotiation, splitting buffers into messages) over the internal
//     transport interfaces.
//   - file_out.go, file_in.go: the f: IFC (rotation by time and size,
//     append mode, a new file on format change, reading file lists).
//   - socket*.go, tls*.go: the t:, u: and T: IFCs; blackhole.go: b:.
//   - kafka_*.go: the k: IFC on franz-go: one record per container,
//     format in record headers, keyed partitions, consumer groups.
//   - context.go: Init (the NEMEA command line: -h, -i, -v), Finalize;
//     shutdown.go: ShutdownContext and FinalizeAfter, so that SIGTERM ends
//     a module even when a client stalls or never connects (the C modules
//     hang there); verbose.go: the default stderr logger, filtered by
//     -v/-vv/-vvv like libtrap's messages;
//     help.go: -h, -h trap and the JSON module info, byte-exact to
//     libtrap; getopt.go: the module's own options; run.go: Run and Main,
//     a module's whole set-up and tear-down around its Body.
//   - service.go: the service IFC, a UNIX socket answering the NEMEA
//     Supervisor's statistics requests.
//
// # Why hand-written
//
// TRAP has no Go implementation to build on, and byte compatibility with
// libtrap (mixed byte orders, its help layout and non-escaping JSON, the
// file naming rules) is the point, so framing, help text and option
// parsing are written here. Module options use a small getopt of our own
// because the standard flag package cannot bundle short options (-tc 5)
// as NEMEA modules accept them.
//
// # Message by message, or a container at a time
//
// Input.Recv hands out one message per call. Input.RecvBatch hands out the
// rest of a received buffer (a whole socket container, a whole file
// buffer) in one Batch, stopping before an end-of-stream message, and
// Output.SendBatch sends a Batch with one lock and, on sockets, one copy
// per container: traffic_repeater forwards with these two, and any module
// that walks records can range over Batch.All without a call per record.
//
// # Losses
//
// A socket output counts every message it accepted and no client got
// whole (no client connected, a client that left mid-container, a ring
// slot overwritten under NO_WAIT, undelivered at close) in
// OutputStats.DroppedMessages, which the service IFC and the daemon's
// /metrics report. The end-of-stream message is a marker, not a record:
// it is never counted as dropped.
//
// # End of stream
//
// TRAP has no close frame: a sender ends with a one-byte zero message
// (Output.SendEOS), and a receiver stops at any message of length <= 1
// (IsEOS). The file input adds a zero-length message after its last file.
package trap
