package filter

import (
	"fmt"
	"strings"

	"github.com/flowgate/flowgate/unirec"
)

// Projection is unirecfilter's output template (-O): the fields to send,
// each with an optional default ("type NAME=value") used when the input
// lacks the field. Fields the input has are copied; the others get their
// default, or zero.
type Projection struct {
	T        *unirec.Template
	defaults unirec.Record
}

// ColumnError is a projection template or filter file that cannot be read;
// Line (1-based, 0 for a one-line option) and Col (1-based byte column)
// point at the offending item.
type ColumnError struct {
	Line, Col int
	Msg       string
	Err       error
}

func (e *ColumnError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Col, e.Msg)
	}
	return fmt.Sprintf("column %d: %s", e.Col, e.Msg)
}

func (e *ColumnError) Unwrap() error { return e.Err }

// ParseProjection reads "type NAME[=default],..." (the -O option). A
// default is read like logreplay reads a value (ur_set_from_string);
// surrounding double quotes are removed. Errors name the item's column.
func ParseProjection(spec string) (*Projection, error) {
	type item struct {
		col      int
		f        unirec.Field
		def      string
		hasDef   bool
		defStart int
	}
	var items []item
	var fields []unirec.Field
	pos := 0
	for _, raw := range strings.Split(spec, ",") {
		col := pos + 1
		pos += len(raw) + 1
		lead := len(raw) - len(strings.TrimLeft(raw, " \t\n"))
		col += lead
		it := strings.TrimSpace(raw)
		decl, def, hasDef := strings.Cut(it, "=")
		typ, name, ok := strings.Cut(strings.TrimSpace(decl), " ")
		if !ok {
			return nil, &ColumnError{Col: col, Msg: fmt.Sprintf("%q is not \"type NAME\"", it)}
		}
		t, err := unirec.ParseType(typ)
		if err != nil {
			return nil, &ColumnError{Col: col, Msg: fmt.Sprintf("unknown field type %q", typ), Err: err}
		}
		name = strings.TrimSpace(name)
		if !unirec.ValidName(name) {
			return nil, &ColumnError{Col: col + len(typ) + 1, Msg: fmt.Sprintf("invalid field name %q (want [A-Za-z][A-Za-z0-9_]*)", name)}
		}
		def = strings.TrimSpace(def)
		if len(def) >= 2 && def[0] == '"' && def[len(def)-1] == '"' {
			def = def[1 : len(def)-1]
		}
		items = append(items, item{col: col, f: unirec.Field{Name: name, Type: t}, def: def, hasDef: hasDef, defStart: col + len(decl) + 1})
		fields = append(fields, unirec.Field{Name: name, Type: t})
	}
	tmpl, err := unirec.NewTemplate(fields)
	if err != nil {
		return nil, &ColumnError{Col: 1, Msg: err.Error(), Err: err}
	}
	p := &Projection{T: tmpl, defaults: tmpl.NewRecord()}
	for _, it := range items {
		if !it.hasDef {
			continue
		}
		id, _ := tmpl.Lookup(it.f.Name)
		if err := p.defaults.SetFromString(id, it.def); err != nil {
			return nil, &ColumnError{Col: it.defStart, Msg: fmt.Sprintf("default of %s: %v", it.f.Name, err), Err: err}
		}
	}
	return p, nil
}

// Projector converts records of one input template to a projection.
type Projector struct {
	p      *Projection
	copier *unirec.Copier
}

// For prepares projecting records of the input template in.
func (p *Projection) For(in *unirec.Template) *Projector {
	return &Projector{p: p, copier: unirec.NewCopier(p.T, in)}
}

// Project fills dst (a record of the projection's template, e.g. from
// T.NewRecord, reused across calls) from src: defaults first, then every
// field src has. It allocates nothing when dst has capacity 65535.
func (pr *Projector) Project(dst *unirec.Record, src unirec.Record) error {
	def := pr.p.defaults.Data
	dst.Data = append(dst.Data[:0], def...)
	return pr.copier.Copy(dst, src)
}

// OutputSpec is one item of a unirecfilter filter file: the projection
// (nil: records leave with the input's template) and the filter.
type OutputSpec struct {
	Projection *Projection
	Filter     *Expr
}

// ParseFilterFile reads unirecfilter's -f file: "TEMPLATE:FILTER;" items,
// item N for output N. TEMPLATE may be empty (the input's template), FILTER
// may span lines and be empty (everything passes); "#" starts a comment
// that runs to the end of the line. Errors give the line and column.
func ParseFilterFile(text string) ([]OutputSpec, error) {
	// Blank out comments, keeping offsets.
	b := []byte(text)
	for i := 0; i < len(b); i++ {
		if b[i] == '#' {
			for ; i < len(b) && b[i] != '\n'; i++ {
				b[i] = ' '
			}
		}
	}
	clean := string(b)
	lineCol := func(off int) (int, int) {
		line := 1 + strings.Count(clean[:off], "\n")
		return line, off - strings.LastIndexByte(clean[:off], '\n')
	}
	var specs []OutputSpec
	start := 0
	for {
		end := strings.IndexByte(clean[start:], ';')
		if end < 0 {
			if rest := strings.TrimSpace(clean[start:]); rest != "" {
				l, c := lineCol(start + strings.Index(clean[start:], rest))
				return nil, &ColumnError{Line: l, Col: c, Msg: "item does not end with \";\""}
			}
			return specs, nil
		}
		item := clean[start : start+end]
		colon := strings.IndexByte(item, ':')
		if colon < 0 {
			l, c := lineCol(start + len(item) - len(strings.TrimLeft(item, " \t\r\n")))
			return nil, &ColumnError{Line: l, Col: c, Msg: "item is not \"TEMPLATE:FILTER;\""}
		}
		var spec OutputSpec
		if tpl := strings.TrimSpace(item[:colon]); tpl != "" {
			p, err := ParseProjection(tpl)
			if err != nil {
				tOff := start + strings.Index(item, tpl)
				if ce, ok := err.(*ColumnError); ok {
					tOff += ce.Col - 1
				}
				l, c := lineCol(tOff)
				return nil, &ColumnError{Line: l, Col: c, Msg: err.Error(), Err: err}
			}
			spec.Projection = p
		}
		fOff := start + colon + 1
		e, err := Parse(item[colon+1:])
		if err != nil {
			off := fOff
			if se, ok := err.(*SyntaxError); ok {
				off += se.Col - 1
			}
			l, c := lineCol(off)
			return nil, &ColumnError{Line: l, Col: c, Msg: err.Error(), Err: err}
		}
		spec.Filter = e
		specs = append(specs, spec)
		start += end + 1
	}
}
