// Package filter implements NEMEA's unirecfilter expression language
// (liburfilter; spec/nemea-modules.md §2.6) for UniRec records: parse an
// expression once, compile it for each template into a tree of closures
// that reads fields at fixed offsets and allocates nothing per record.
//
//	e, err := filter.Parse(`PROTOCOL == TCP && DST_PORT in [22, 3389]`)
//	p, warnings := e.Compile(tmpl)
//	if p.Match(rec) { ... }
//
// The behaviour is the C library's, measured against the reference
// unirecfilter binary, including its quirks:
//   - AND and OR have equal precedence and associate left: a || b && c is
//     (a || b) && c. NOT binds tighter; parentheses group.
//   - Field names match [a-zA-Z_]+: digits are not part of a name.
//   - A term on a field the template lacks, or on a field of a type the
//     literal does not fit, is false (Compile reports a warning).
//   - Integer literals are strtoll's (base 0: a leading 0 is octal,
//     saturating); unsigned fields and int8 compare as uint64, the other
//     signed fields as int64.
//   - A float literal against a double field: == is |a-b| < 1, the other
//     operators are exact. A float (32-bit) field is read as the 8 bytes at
//     its offset interpreted as a double, as liburfilter does.
//   - "=>" and "=<" are accepted but never true; so is "in" before a value
//     that is not an array, while any comparison operator before an array
//     means "in".
//   - An IP literal compares as 16 bytes (memcmp); a subnet literal matches
//     only addresses of its own family (== is containment, < and > are true
//     for the other family).
//   - host and port stand for SRC_/DST_ fields: the term holds if it holds
//     for either, except host != which needs both.
//   - A char field equals a one-character string; any other operator on it
//     is "not equal".
//   - Strings match regular expressions by POSIX extended syntax (=~, ~=).
//
// Where C silently ignores what it cannot read (stray characters, a syntax
// error turning the filter into "match nothing"), Parse returns a
// *SyntaxError naming the column.
package filter
