package collector

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// VariableLength is the field length that marks an IPFIX variable-length
// information element (RFC 7011 §7).
const VariableLength = 0xFFFF

// Field is one field specifier of a template.
type Field struct {
	PEN    uint32 // 0 for IANA elements
	ID     uint16 // element id (enterprise bit cleared); for v9 scope fields the scope type
	Length uint16 // encoded length or VariableLength
	Scope  bool   // an options-template scope field
}

// Template is a parsed (options) template.
type Template struct {
	ID         uint16
	Fields     []Field
	ScopeCount int  // number of leading scope fields (options templates)
	Options    bool // options template
	// MinLen is the smallest possible encoded record (variable fields count
	// one length byte); data set bytes after the last record shorter than
	// this are padding.
	MinLen int
	// Fixed is true when no field is variable-length; then every record is
	// exactly MinLen bytes.
	Fixed bool
}

// Equal reports whether two templates describe the same record layout.
func (t *Template) Equal(o *Template) bool {
	return t.ID == o.ID && t.Options == o.Options && t.ScopeCount == o.ScopeCount && slices.Equal(t.Fields, o.Fields)
}

func (t *Template) finish() error {
	t.Fixed = true
	for _, f := range t.Fields {
		if f.Length == VariableLength {
			t.Fixed = false
			t.MinLen++
			continue
		}
		t.MinLen += int(f.Length)
	}
	if t.MinLen == 0 && len(t.Fields) > 0 {
		return fmt.Errorf("template %d: all fields have length 0: %w", t.ID, ErrTemplate)
	}
	if t.MinLen > 65535 {
		return fmt.Errorf("template %d: record length %d exceeds 65535: %w", t.ID, t.MinLen, ErrTemplate)
	}
	return nil
}

// templateEvent is produced by the template parsers: either a template
// definition or (IPFIX only) a withdrawal of template ID (ID equal to the
// set id 2/3 withdraws all templates of that kind).
type templateEvent struct {
	tmpl     *Template
	withdraw bool
	id       uint16
	options  bool
}

// parseV9TemplateSet parses the body of a NetFlow v9 template FlowSet (id 0).
func parseV9TemplateSet(body []byte, fn func(templateEvent) error) error {
	for len(body) >= 4 {
		id := binary.BigEndian.Uint16(body)
		n := int(binary.BigEndian.Uint16(body[2:]))
		if id == 0 && n == 0 {
			return nil // zero padding at the end of the FlowSet
		}
		body = body[4:]
		if id < 256 {
			return fmt.Errorf("v9 template id %d below 256: %w", id, ErrTemplate)
		}
		if n == 0 {
			return fmt.Errorf("v9 template %d has no fields: %w", id, ErrTemplate)
		}
		if len(body) < 4*n {
			return fmt.Errorf("v9 template %d: %d fields need %d bytes, %d left: %w", id, n, 4*n, len(body), ErrShort)
		}
		t := &Template{ID: id, Fields: make([]Field, n)}
		for i := range n {
			f := Field{ID: binary.BigEndian.Uint16(body[4*i:]), Length: binary.BigEndian.Uint16(body[4*i+2:])}
			if f.Length == VariableLength {
				return fmt.Errorf("v9 template %d field %d: length 65535 not allowed in v9: %w", id, i, ErrTemplate)
			}
			t.Fields[i] = f
		}
		body = body[4*n:]
		if err := t.finish(); err != nil {
			return err
		}
		if err := fn(templateEvent{tmpl: t, id: id}); err != nil {
			return err
		}
	}
	return nil // trailing < 4 bytes is padding
}

// parseV9OptionsTemplateSet parses the body of a v9 options template FlowSet (id 1).
func parseV9OptionsTemplateSet(body []byte, fn func(templateEvent) error) error {
	for len(body) >= 6 {
		id := binary.BigEndian.Uint16(body)
		scopeLen := int(binary.BigEndian.Uint16(body[2:]))
		optLen := int(binary.BigEndian.Uint16(body[4:]))
		if id == 0 && scopeLen == 0 && optLen == 0 {
			return nil // zero padding at the end of the FlowSet
		}
		body = body[6:]
		if id < 256 {
			return fmt.Errorf("v9 options template id %d below 256: %w", id, ErrTemplate)
		}
		if scopeLen%4 != 0 || optLen%4 != 0 || scopeLen+optLen == 0 {
			return fmt.Errorf("v9 options template %d: scope length %d / option length %d not positive multiples of 4: %w", id, scopeLen, optLen, ErrTemplate)
		}
		if len(body) < scopeLen+optLen {
			return fmt.Errorf("v9 options template %d: needs %d bytes, %d left: %w", id, scopeLen+optLen, len(body), ErrShort)
		}
		n := (scopeLen + optLen) / 4
		t := &Template{ID: id, Options: true, ScopeCount: scopeLen / 4, Fields: make([]Field, n)}
		for i := range n {
			f := Field{ID: binary.BigEndian.Uint16(body[4*i:]), Length: binary.BigEndian.Uint16(body[4*i+2:]), Scope: i < t.ScopeCount}
			if f.Length == VariableLength {
				return fmt.Errorf("v9 options template %d field %d: length 65535 not allowed in v9: %w", id, i, ErrTemplate)
			}
			t.Fields[i] = f
		}
		body = body[scopeLen+optLen:]
		if err := t.finish(); err != nil {
			return err
		}
		if err := fn(templateEvent{tmpl: t, id: id, options: true}); err != nil {
			return err
		}
	}
	return nil
}

// parseIPFIXTemplateSet parses the body of an IPFIX template set (set id 2)
// or options template set (set id 3), including withdrawals (field count 0).
func parseIPFIXTemplateSet(body []byte, options bool, fn func(templateEvent) error) error {
	hdr := 4
	if options {
		hdr = 6
	}
	setID := uint16(2)
	if options {
		setID = 3
	}
	for len(body) >= 4 {
		id := binary.BigEndian.Uint16(body)
		n := int(binary.BigEndian.Uint16(body[2:]))
		if n == 0 { // withdrawal: the record is just id + count
			if id != setID && id < 256 {
				return fmt.Errorf("ipfix withdrawal of template id %d: %w", id, ErrTemplate)
			}
			body = body[4:]
			if err := fn(templateEvent{withdraw: true, id: id, options: options}); err != nil {
				return err
			}
			continue
		}
		if len(body) < hdr {
			return fmt.Errorf("ipfix options template %d header: %w", id, ErrShort)
		}
		scope := 0
		if options {
			scope = int(binary.BigEndian.Uint16(body[4:]))
			if scope == 0 || scope > n {
				return fmt.Errorf("ipfix options template %d: scope field count %d of %d fields: %w", id, scope, n, ErrTemplate)
			}
		}
		body = body[hdr:]
		if id < 256 {
			return fmt.Errorf("ipfix template id %d below 256: %w", id, ErrTemplate)
		}
		t := &Template{ID: id, Options: options, ScopeCount: scope, Fields: make([]Field, n)}
		for i := range n {
			if len(body) < 4 {
				return fmt.Errorf("ipfix template %d field %d of %d: %w", id, i, n, ErrShort)
			}
			raw := binary.BigEndian.Uint16(body)
			f := Field{ID: raw & 0x7FFF, Length: binary.BigEndian.Uint16(body[2:]), Scope: i < scope}
			body = body[4:]
			if raw&0x8000 != 0 {
				if len(body) < 4 {
					return fmt.Errorf("ipfix template %d field %d enterprise number: %w", id, i, ErrShort)
				}
				f.PEN = binary.BigEndian.Uint32(body)
				body = body[4:]
			}
			t.Fields[i] = f
		}
		if err := t.finish(); err != nil {
			return err
		}
		if err := fn(templateEvent{tmpl: t, id: id, options: options}); err != nil {
			return err
		}
	}
	return nil
}
