package unirec

// Copier copies the fields two templates have in common (same name and
// type) from records of one into records of the other. It resolves the
// field pairs once, so Copy does no name lookups; use it when converting a
// stream, and CopyFields for one-off copies.
type Copier struct {
	dst, src *Template
	fixed    []copyRange // fixed fields: byte ranges
	vars     []copyVar   // variable fields: id pairs
}

type copyRange struct{ dstOff, srcOff, n int }
type copyVar struct{ dst, src FieldID }

// NewCopier prepares copying from records of src into records of dst.
func NewCopier(dst, src *Template) *Copier {
	c := &Copier{dst: dst, src: src}
	for id, f := range dst.fields {
		sid, ok := src.byName[f.Name]
		if !ok || src.fields[sid].Type != f.Type {
			continue
		}
		if f.Type.IsVariable() {
			c.vars = append(c.vars, copyVar{FieldID(id), sid})
			continue
		}
		c.fixed = append(c.fixed, copyRange{f.Offset, src.fields[sid].Offset, f.Type.Size()})
	}
	return c
}

// Copy copies the common fields of src into dst, leaving dst's other fields
// unchanged. dst and src must use the templates given to NewCopier.
func (c *Copier) Copy(dst *Record, src Record) error {
	for _, r := range c.fixed {
		copy(dst.Data[r.dstOff:r.dstOff+r.n], src.Data[r.srcOff:r.srcOff+r.n])
	}
	for _, v := range c.vars {
		if err := dst.SetVar(v.dst, src.Var(v.src)); err != nil {
			return err
		}
	}
	return nil
}

// Clone returns a record with its own copy of the data, e.g. to keep a
// record beyond the lifetime of the receive buffer it was wrapped in.
func (r Record) Clone() Record {
	return Record{T: r.T, Data: append([]byte(nil), r.Data...)}
}
