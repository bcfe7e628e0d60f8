package idea

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/flowgate/flowgate/unirec"
)

// Object is a JSON object that keeps its keys in insertion order, as the
// Python reporters' dicts do.
type Object struct{ kv []member }

type member struct {
	key string
	val any
}

// Set sets key to v, keeping the key's first position.
func (o *Object) Set(key string, v any) {
	for i := range o.kv {
		if o.kv[i].key == key {
			o.kv[i].val = v
			return
		}
	}
	o.kv = append(o.kv, member{key, v})
}

// Get returns key's value.
func (o *Object) Get(key string) (any, bool) {
	for _, m := range o.kv {
		if m.key == key {
			return m.val, true
		}
	}
	return nil, false
}

// Keys returns the keys in order.
func (o *Object) Keys() []string {
	ks := make([]string, len(o.kv))
	for i, m := range o.kv {
		ks[i] = m.key
	}
	return ks
}

// addAddr appends ip to obj's IP4 or IP6 list (pycommon setAddr).
func addAddr(o *Object, ip unirec.IP) {
	k := "IP6"
	if ip.Is4() {
		k = "IP4"
	}
	v, _ := o.Get(k)
	l, _ := v.([]any)
	o.Set(k, append(l, ip.String()))
}

// ideaTime formats t as IDEA does: UTC, whole seconds (truncated).
func ideaTime(sec int64) string {
	return time.Unix(sec, 0).UTC().Format("2006-01-02T15:04:05Z")
}

// AppendJSON appends v as Python's json.dumps writes it: ", " and ": "
// separators, non-ASCII escaped.
func AppendJSON(b []byte, v any) []byte {
	switch x := v.(type) {
	case *Object:
		b = append(b, '{')
		for i, m := range x.kv {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendString(b, m.key)
			b = append(b, ": "...)
			b = AppendJSON(b, m.val)
		}
		return append(b, '}')
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = AppendJSON(b, e)
		}
		return append(b, ']')
	case string:
		return appendString(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case uint64:
		return strconv.AppendUint(b, x, 10)
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10)
	case nil:
		return append(b, "null"...)
	}
	panic(fmt.Sprintf("idea: cannot encode %T", v))
}

func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case r == '"':
			b = append(b, `\"`...)
		case r == '\\':
			b = append(b, `\\`...)
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r == '\b':
			b = append(b, `\b`...)
		case r == '\f':
			b = append(b, `\f`...)
		case r < 0x20 || r >= 0x80:
			if r > 0xffff {
				r1, r2 := utf16.EncodeRune(r)
				b = append(b, '\\', 'u', hex[r1>>12&15], hex[r1>>8&15], hex[r1>>4&15], hex[r1&15])
				r = r2
			}
			b = append(b, '\\', 'u', hex[r>>12&15], hex[r>>8&15], hex[r>>4&15], hex[r&15])
		default:
			b = append(b, byte(r))
		}
	}
	return append(b, '"')
}
