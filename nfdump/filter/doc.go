// Package filter compiles the commonly used subset of nfdump's filter
// language and evaluates it against nfdump records without allocating.
//
// Supported: "any"; [src|dst] ip|host ADDR; [src|dst] net PREFIX (CIDR, or
// ADDR/LEN); [src|dst] port [CMP] N; proto tcp|udp|icmp|icmp6|ipv6-icmp|gre|esp|N;
// packets [CMP] N and bytes [CMP] N with optional k/m/g suffix (x1000);
// not / !, and / &&, or / ||, parentheses. CMP is one of = == eq > gt < lt
// >= ge <= le. Keywords are case-insensitive. Anything else is rejected
// with an error naming the unsupported word and its position.
//
// The parser is hand-written: nfdump's own grammar is a yacc file inside
// the C tool and no Go implementation exists.
package filter
