// Package converters holds the field mappings from flow sources to UniRec:
// which source field (IPFIX / NetFlow information element, nfdump record
// element, metered flow attribute) fills which UniRec field, under which
// NEMEA name and type, and with which conversion.
//
// The IPFIX mapping (ipfix.go, table.go) follows the element table of the
// CESNET ipfixcol2 UniRec output plugin (unirec-elements.txt), so detectors
// fed by ipfixcol2 today see the same field names and types from Flowgate.
// ParseTable reads that file format, so an operator's customised table can
// be loaded unchanged; DefaultTable is the built-in basic and biflow part.
//
// sflow.go maps sFlow flow samples (package collector/sflow) the same way:
// values an IPFIX element also carries go where the table sends that
// element; the others use the nfdump mapping's names (SflowTemplate).
//
// This package only decides the mapping. Decoding wire data is the job of
// package collector, which compiles these mappings into per-template decode
// plans; nfdump files are mapped by nfdump*.go in this package.
package converters
