package converters

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/flowgate/flowgate/unirec"
)

// ErrTable is wrapped by every error ParseTable returns.
var ErrTable = errors.New("invalid element table")

// Conv says how a source value becomes the UniRec value.
type Conv uint8

const (
	// ConvDirect converts the value to the UniRec type (integers are
	// truncated to the field width, addresses, MACs, times and strings are
	// converted by kind).
	ConvDirect Conv = iota
	// ConvScaled multiplies a counter by the exporter's sampling interval
	// (when the collector is configured to apply sampling).
	ConvScaled
	// ConvNonZero writes only non-zero values: an alternative source such as
	// icmpTypeCodeIPv4 for DST_PORT must not clear a port another element set.
	ConvNonZero
)

// Internal names a value the collector supplies itself rather than a record field.
type Internal uint8

// Collector-supplied values (ipfixcol2's _internal_*_ pseudo elements).
const (
	InternalNone       Internal = iota
	InternalODID                // observation domain id / v9 source id
	InternalExporterIP          // address of the exporting process
)

// IE identifies an information element: enterprise number and element id.
type IE struct {
	PEN uint32
	ID  uint16
}

func (ie IE) String() string { return fmt.Sprintf("e%did%d", ie.PEN, ie.ID) }

// Target is one UniRec field a source element fills.
type Target struct {
	Name string
	Type unirec.Type
	Conv Conv
}

// Table maps information elements to UniRec fields. It is read-only after
// construction and safe for concurrent use.
type Table struct {
	byIE       map[IE][]Target
	internal   map[Internal]Target
	fields     []Target // every field, file order
	unresolved []string
}

// Lookup returns the UniRec fields element (pen, id) fills (usually one).
func (t *Table) Lookup(pen uint32, id uint16) []Target { return t.byIE[IE{pen, id}] }

// Internal returns the UniRec field the collector fills with value k.
func (t *Table) Internal(k Internal) (Target, bool) {
	f, ok := t.internal[k]
	return f, ok
}

// Fields returns every UniRec field of the table in file order.
func (t *Table) Fields() []Target { return t.fields }

// Unresolved lists the symbolic element names (such as "cesnet:DNSName")
// the table referenced but this package cannot resolve to numbers; the
// fields that only have such sources are never filled.
func (t *Table) Unresolved() []string { return t.unresolved }

// knownAliases resolves the symbolic "scope:name" element names we know the
// numbers of.
var knownAliases = map[string]IE{
	"iana:flowEndReason":    {0, 136},
	"iana:ingressInterface": {0, 10},
	"iana:egressInterface":  {0, 14},
}

// Pseudo elements of ipfixcol2. DIR_BIT_FIELD and LINK_BIT_FIELD are taken
// from the elements CESNET's ipfixprobe exports them as: ingressInterface
// (10) carries the direction bit and element 405 the link bit field.
var internalElements = map[string]IE{
	"_internal_dbf_": {0, 10},
	"_internal_lbf_": {0, 405},
}

var internalValues = map[string]Internal{
	"_internal_odid_":        InternalODID,
	"_internal_exporter_ip_": InternalExporterIP,
}

// ParseTable reads a table in ipfixcol2's unirec-elements.txt format:
// "NAME TYPE SOURCES [# comment]" per line, SOURCES a comma separated list
// of eXXidYY, scope:name aliases or _internal_*_ pseudo elements. basicList
// sources ("e0id291/...") are recorded as unresolved.
func ParseTable(r io.Reader) (*Table, error) {
	t := &Table{byIE: make(map[IE][]Target), internal: make(map[Internal]Target)}
	sc := bufio.NewScanner(r)
	line := 0
	seen := make(map[string]bool)
	for sc.Scan() {
		line++
		s := sc.Text()
		if i := strings.IndexByte(s, '#'); i >= 0 {
			s = s[:i]
		}
		parts := strings.Fields(s)
		if len(parts) == 0 {
			continue
		}
		if len(parts) != 3 {
			return nil, fmt.Errorf("line %d: want NAME TYPE SOURCES, got %d items: %w", line, len(parts), ErrTable)
		}
		typName := parts[1]
		if typName == "string_trimmed" {
			typName = "string"
		}
		typ, err := unirec.ParseType(typName)
		if err != nil {
			return nil, fmt.Errorf("line %d: field %s: %w: %w", line, parts[0], ErrTable, err)
		}
		if seen[parts[0]] {
			return nil, fmt.Errorf("line %d: field %s defined twice: %w", line, parts[0], ErrTable)
		}
		seen[parts[0]] = true
		f := Target{Name: parts[0], Type: typ, Conv: defaultConv(parts[0])}
		t.fields = append(t.fields, f)
		for _, src := range strings.Split(parts[2], ",") {
			if err := t.addSource(f, src); err != nil {
				return nil, fmt.Errorf("line %d: field %s: %w", line, f.Name, err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading element table: %w", err)
	}
	return t, nil
}

func (t *Table) addSource(f Target, src string) error {
	if k, ok := internalValues[src]; ok {
		t.internal[k] = f
		return nil
	}
	ie, ok := internalElements[src]
	if !ok {
		ie, ok = knownAliases[src]
	}
	if !ok {
		var err error
		ie, ok, err = parseEID(src)
		if err != nil {
			return err
		}
	}
	if !ok {
		t.unresolved = append(t.unresolved, src)
		return nil
	}
	g := f
	if f.Name == "DST_PORT" && ie.PEN == 0 && (ie.ID == 32 || ie.ID == 139) {
		g.Conv = ConvNonZero
	}
	t.byIE[ie] = append(t.byIE[ie], g)
	return nil
}

// parseEID parses "eXXidYY". ok is false (and err nil) for symbolic names
// and basicList paths.
func parseEID(s string) (IE, bool, error) {
	if strings.ContainsAny(s, ":/") || s == "" {
		return IE{}, false, nil
	}
	rest, found := strings.CutPrefix(s, "e")
	pen, id, found2 := strings.Cut(rest, "id")
	if !found || !found2 {
		return IE{}, false, fmt.Errorf("source %q: want eXXidYY: %w", s, ErrTable)
	}
	p, err := strconv.ParseUint(pen, 10, 32)
	if err != nil {
		return IE{}, false, fmt.Errorf("source %q enterprise: %w: %w", s, ErrTable, err)
	}
	i, err := strconv.ParseUint(id, 10, 15)
	if err != nil {
		return IE{}, false, fmt.Errorf("source %q element id: %w: %w", s, ErrTable, err)
	}
	return IE{uint32(p), uint16(i)}, true, nil
}

// defaultConv: packet and byte counters are scaled by the sampling interval.
func defaultConv(name string) Conv {
	switch name {
	case "BYTES", "PACKETS", "BYTES_REV", "PACKETS_REV":
		return ConvScaled
	}
	return ConvDirect
}
