// Package collector decodes NetFlow v5, NetFlow v9 and IPFIX (RFC 7011)
// export messages into UniRec records.
//
// What lives here:
//
//   - wire.go, template.go: message headers, set iteration and (options)
//     template parsing for v9 and IPFIX, including variable-length and
//     enterprise information elements.
//   - registry.go: our own table of IANA information elements (id, name,
//     abstract data type). It is hand-written because the usual Go table
//     (github.com/calmh/ipfix) is not available to this module; only facts
//     (numbers, names, types from the IANA registry) are used.
//   - session.go: template and options-template state per (exporter address,
//     observation domain / source id), template refresh, withdrawal and
//     lifetime, sampling and system-init time learnt from options data,
//     sequence tracking.
//   - plan.go: a decode plan compiled once per (wire template, output UniRec
//     template): a slice of small ops that copy each wire field straight into
//     a unirec.Record, so steady-state decoding allocates nothing per record.
//     Which wire field feeds which UniRec field is decided by package
//     converters (mapping), not here (decoding).
//   - decoder.go: the Decoder that ties it together and feeds a Sink.
//   - counters.go: plain atomic counters a metrics layer can read.
//   - stream.go: splitting an IPFIX-over-TCP byte stream into messages.
//
// Bad input never panics: every problem is returned as a wrapped error
// (see the Err* sentinels) and counted per exporter; the caller keeps running.
package collector
