package unirec

import (
	"errors"
	"fmt"
	"strings"
)

// MaxCSVVarLen is logreplay's DYN_FIELD_MAX_SIZE: the text of a variable
// field in a CSV row is cut to this many bytes before it is parsed.
const MaxCSVVarLen = 16384

// ErrColumns reports a CSV row whose column count does not match the header.
var ErrColumns = errors.New("wrong number of columns")

// CSVHeader is a parsed logreplay CSV header (the logger -t header line):
// column i of a row sets field Columns[i] of T. When HasTime is set the
// header began with "time," (logger -T) and every row starts with an extra
// timestamp column that is not part of Columns.
//
// A CSVHeader keeps a scratch buffer for unquoting, so ParseRow must not be
// called concurrently on the same header.
type CSVHeader struct {
	T       *Template
	Columns []FieldID
	HasTime bool

	scratch []byte
}

// ParseCSVHeader parses a header line "type NAME,type NAME,..." in any
// order, with an optional leading "time," column. Blanks after commas are
// tolerated and a trailing "\n" or "\r\n" is ignored. T is the canonical
// template of the listed fields.
func ParseCSVHeader(line string) (*CSVHeader, error) {
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	h := &CSVHeader{}
	rest := strings.TrimLeft(line, " \t")
	if first, after, ok := strings.Cut(rest, ","); ok && strings.TrimSpace(first) == "time" {
		h.HasTime = true
		rest = after
	}
	t, err := ParseTemplate(rest)
	if err != nil {
		return nil, fmt.Errorf("unirec: CSV header: %w", err)
	}
	h.T = t
	if strings.TrimSpace(rest) == "" {
		return h, nil
	}
	for _, item := range strings.Split(rest, ",") {
		f, err := parseItem(item)
		if err != nil { // ParseTemplate accepted it, so this cannot happen
			return nil, fmt.Errorf("unirec: CSV header item %q: %w", item, err)
		}
		id, _ := t.Lookup(f.Name)
		h.Columns = append(h.Columns, id)
	}
	return h, nil
}

// ParseRow parses one CSV row into rec, which must use h.T and is reset
// first (a zero-length rec.Data gets a fresh NewRecord buffer). A trailing '\n' is ignored. Columns are split on ','; a column
// starting with '"' is quoted: "" inside it stands for one '"', commas are
// kept, and a '"' preceded by a backslash is an ordinary character. Values
// are parsed with SetFromString rules; variable values are first cut to
// MaxCSVVarLen bytes like logreplay does. ts is the text of the time column
// when HasTime. On error rec holds a partial record.
func (h *CSVHeader) ParseRow(line []byte, rec *Record) (ts string, err error) {
	if rec.T != h.T && !rec.T.Equal(h.T) {
		return "", fmt.Errorf("unirec: CSV row: record is not of the header's template %q", h.T.Spec())
	}
	if cap(rec.Data) < h.T.staticSize {
		*rec = h.T.NewRecord()
	}
	*rec = rec.Reset()
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	want := len(h.Columns)
	if h.HasTime {
		want++
	}
	pos, col := 0, 0
	for ; col < want; col++ {
		if pos > len(line) {
			return "", fmt.Errorf("unirec: CSV row has %d columns, header has %d: %w", col, want, ErrColumns)
		}
		var val []byte
		val, pos = h.nextColumn(line, pos)
		if h.HasTime && col == 0 {
			ts = string(val)
			continue
		}
		c := col
		if h.HasTime {
			c--
		}
		id := h.Columns[c]
		if h.T.fields[id].Type.IsVariable() && len(val) > MaxCSVVarLen {
			val = val[:MaxCSVVarLen]
		}
		if err := setFromText(rec, id, val); err != nil {
			return ts, fmt.Errorf("unirec: CSV column %d: %w", col+1, err)
		}
	}
	if pos <= len(line) && want > 0 || want == 0 && len(line) > 0 {
		return ts, fmt.Errorf("unirec: CSV row has more than %d columns: %w", want, ErrColumns)
	}
	return ts, nil
}

// nextColumn returns the value of the column starting at pos and the
// position after its terminating comma (len(line)+1 at the end of the line).
func (h *CSVHeader) nextColumn(line []byte, pos int) ([]byte, int) {
	if pos >= len(line) || line[pos] != '"' {
		end := pos
		for end < len(line) && line[end] != ',' {
			end++
		}
		return line[pos:end], end + 1
	}
	buf := h.scratch[:0]
	i := pos + 1
	closed := false
	for i < len(line) {
		c := line[i]
		if c == '"' && line[i-1] != '\\' {
			if i+1 < len(line) && line[i+1] == '"' {
				buf = append(buf, '"')
				i += 2
				continue
			}
			i++
			closed = true
			break
		}
		buf = append(buf, c)
		i++
	}
	if closed { // text between the closing quote and the comma is kept
		for i < len(line) && line[i] != ',' {
			buf = append(buf, line[i])
			i++
		}
	}
	h.scratch = buf
	return buf, i + 1
}
