package unirec

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// MaxRecordSize is the largest record: TRAP message lengths and variable
// field offsets are uint16 (UR_MAX_SIZE).
const MaxRecordSize = 65535

// FieldID is the index of a field in its template's canonical order.
// Resolve it once per template with Lookup and reuse it for every record.
type FieldID int

// Field describes one field of a template.
type Field struct {
	Name string
	Type Type
	// Offset is the byte offset of a fixed field, or of the 4-byte
	// offset/length slot of a variable field.
	Offset int
}

// Template is an immutable UniRec template: fields in libunirec's canonical
// order with their byte layout. It is safe for concurrent use.
type Template struct {
	fields     []Field
	byName     map[string]FieldID
	spec       string
	fixedSize  int
	staticSize int
	firstVar   FieldID // index of the first variable field (len(fields) if none)
}

// Errors returned (wrapped) by template construction.
var (
	ErrBadType = errors.New("unknown field type")
	ErrBadName = errors.New("invalid field name")
	ErrBadItem = errors.New("malformed spec item")
	ErrTypeMix = errors.New("field defined twice with different types")
	ErrTooBig  = errors.New("record exceeds 65535 bytes")
)

// ParseTemplate builds a template from a spec string "type NAME,type NAME".
// Fields may be in any order; they are sorted canonically. A name given
// twice with the same type is ignored (the first occurrence counts), with a
// different type it is an error. Leading white space is skipped, white space
// around items (", ") is tolerated, and an empty spec gives a template with
// no fields. Errors name the offending item.
func ParseTemplate(spec string) (*Template, error) {
	s := strings.TrimLeft(spec, " \t\n\r\v\f")
	if s == "" {
		return newTemplate(nil)
	}
	items := strings.Split(s, ",")
	fields := make([]Field, 0, len(items))
	for i, item := range items {
		f, err := parseItem(item)
		if err != nil {
			return nil, fmt.Errorf("unirec: spec item %d %q: %w", i+1, item, err)
		}
		fields = append(fields, f)
	}
	return newTemplate(fields)
}

func parseItem(item string) (Field, error) {
	item = strings.TrimSpace(item)
	sp := strings.IndexAny(item, " \t")
	if sp < 0 {
		if item == "" {
			return Field{}, fmt.Errorf("%w: empty", ErrBadItem)
		}
		return Field{}, fmt.Errorf("%w: want \"type NAME\"", ErrBadItem)
	}
	typ, err := ParseType(item[:sp])
	if err != nil {
		return Field{}, fmt.Errorf("%w %q", ErrBadType, item[:sp])
	}
	return Field{Name: strings.TrimSpace(item[sp+1:]), Type: typ}, nil
}

// NewTemplate builds a template from name/type pairs (Offset is ignored),
// with the same rules as ParseTemplate.
func NewTemplate(fields []Field) (*Template, error) {
	return newTemplate(append([]Field(nil), fields...))
}

// ValidName reports whether name matches [A-Za-z][A-Za-z0-9_]*.
func ValidName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case i > 0 && (c >= '0' && c <= '9' || c == '_'):
		default:
			return false
		}
	}
	return true
}

// newTemplate takes ownership of fields.
func newTemplate(fields []Field) (*Template, error) {
	seen := make(map[string]Type, len(fields))
	uniq := fields[:0]
	for _, f := range fields {
		if !ValidName(f.Name) {
			return nil, fmt.Errorf("unirec: field %q: %w", f.Name, ErrBadName)
		}
		if !f.Type.Valid() {
			return nil, fmt.Errorf("unirec: field %q: %w %d", f.Name, ErrBadType, uint8(f.Type))
		}
		if prev, dup := seen[f.Name]; dup {
			if prev != f.Type {
				return nil, fmt.Errorf("unirec: field %q as %s and %s: %w", f.Name, prev, f.Type, ErrTypeMix)
			}
			continue
		}
		seen[f.Name] = f.Type
		uniq = append(uniq, f)
	}
	// compare_fields: size descending, then strcmp of the names.
	sort.Slice(uniq, func(i, j int) bool {
		si, sj := uniq[i].Type.SortSize(), uniq[j].Type.SortSize()
		if si != sj {
			return si > sj
		}
		return uniq[i].Name < uniq[j].Name
	})
	t := &Template{
		fields:   uniq,
		byName:   make(map[string]FieldID, len(uniq)),
		firstVar: FieldID(len(uniq)),
	}
	off := 0
	var sb strings.Builder
	for i := range uniq {
		f := &uniq[i]
		f.Offset = off
		if f.Type.IsVariable() {
			if t.firstVar == FieldID(len(uniq)) {
				t.firstVar = FieldID(i)
				t.fixedSize = off
			}
			off += 4
		} else {
			off += f.Type.Size()
		}
		t.byName[f.Name] = FieldID(i)
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(f.Type.String())
		sb.WriteByte(' ')
		sb.WriteString(f.Name)
	}
	if t.firstVar == FieldID(len(uniq)) {
		t.fixedSize = off
	}
	t.staticSize = off
	t.spec = sb.String()
	if off > MaxRecordSize {
		return nil, fmt.Errorf("unirec: static part of %d bytes: %w", off, ErrTooBig)
	}
	return t, nil
}

// Spec returns the canonical spec string: "type NAME" items in template
// order joined by "," (what C modules announce).
func (t *Template) Spec() string { return t.spec }

// String returns Spec().
func (t *Template) String() string { return t.spec }

// Fields returns the fields in canonical order. The slice must not be modified.
func (t *Template) Fields() []Field { return t.fields }

// NumFields returns the number of fields.
func (t *Template) NumFields() int { return len(t.fields) }

// Field returns the field with the given id.
func (t *Template) Field(id FieldID) Field { return t.fields[id] }

// Lookup returns the id of the named field.
func (t *Template) Lookup(name string) (FieldID, bool) {
	id, ok := t.byName[name]
	return id, ok
}

// StaticSize is the fixed part plus 4 bytes per variable field: the size
// of a record whose variable fields are all empty.
func (t *Template) StaticSize() int { return t.staticSize }

// FixedSize is the size of the fixed-size fields alone (where the slots start).
func (t *Template) FixedSize() int { return t.fixedSize }

// Equal reports whether both templates have the same fields (and so the same layout).
func (t *Template) Equal(o *Template) bool {
	if t == nil || o == nil {
		return t == o
	}
	return t.spec == o.spec
}
