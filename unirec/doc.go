// Package unirec implements NEMEA's UniRec record format, byte-compatible
// with libunirec (Nemea-Framework): field types, template specs and their
// canonical field order, record layout with variable-length fields, typed
// field access, and the text forms used by the logger and logreplay modules.
//
// What lives where:
//   - types.go: the 29 field types and their sizes.
//   - ip.go, mac.go, time.go: ipaddr, macaddr and time values.
//   - template.go: spec parsing and libunirec's canonical field order.
//   - record.go: Record, typed getters/setters, SetVar, CopyFields;
//     copy.go: Copier for converting streams between templates.
//   - text.go: logger text output; parse.go, timeparse.go, scan.go:
//     ur_set_from_string and time parsing; csv.go: logreplay's CSV layer.
//
// Some things are hand-written instead of using the standard library because
// the C tools behave differently: glibc inet_ntop prints ::1.2.3.4 and
// ::ffff:1.2.3.4 with an embedded dotted quad (Go's net and netip do not),
// inet_pton is re-implemented so []byte input parses without allocating,
// and sscanf's integer and float rules (leading blanks, trailing text
// ignored, wrap-around on overflow) differ from strconv's.
//
// Field types come from the spec a template is built from; there is no
// process-wide name registry (unirec.md §7), so one process can carry
// "uint16 X" on one interface and "uint32 X" on another.
package unirec
