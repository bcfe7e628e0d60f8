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
//   - options.go, v5.go: options data (sampling interval, system init
//     time) and NetFlow v5, which is decoded through a built-in template of
//     IPFIX elements so it shares the plan machinery.
//   - stream.go: splitting an IPFIX-over-TCP byte stream into messages
//     (the sockets themselves are package ingest's collector source).
//   - state.go: template persistence to a JSON state file, so templates
//     survive restarts.
//
// Time encodings: sysUpTime-relative (v5/v9 FIRST/LAST_SWITCHED, IPFIX
// 21/22 with systemInitTimeMilliseconds 160 from the record or options
// data), dateTimeSeconds/Milliseconds/Microseconds/Nanoseconds (150-157),
// delta microseconds before the export time (158/159) and durations
// (161/162) all become absolute UniRec times.
//
// Sampling: packet and byte counters are multiplied by the interval learnt
// from options data (samplingInterval 34, samplerRandomInterval 50,
// samplingPacketInterval/Space 305/306) or the v5 header when
// Config.ApplySampling is set, as nfcapd does. Unlike nfcapd 1.7.1 we also
// apply it when samplingAlgorithm (35) accompanies the interval.
// Config.Sampling (sampling.go) gives an interval, by longest-prefix match
// on the exporter address or a default, to exporters that announce none;
// with Override it replaces their announcements.
//
// IPFIX structured data (RFC 6313, lists.go): basicList,
// subTemplateList and subTemplateMultiList are walked (nested too); their
// elements fill UniRec array fields (uint16*, ipaddr*, ...) mapped to the
// element, and scalar fields the record itself does not set. Reduced-size
// signed integers are sign-extended.
//
// Counters exist per exporter address, per (address, version, domain)
// series (ExporterSeries) and decoder-wide.
//
// Bad input never panics: every problem is returned as a wrapped error
// (see the Err* sentinels) and counted per exporter; the caller keeps running.
package collector
