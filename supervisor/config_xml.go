package supervisor

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/flowgate/flowgate/trap"
)

// srcLine is where a line of the generated document came from.
type srcLine struct {
	file string
	line int
}

var includeRE = regexp.MustCompile(`^ *<!-- include (\S+) -->`)

// ExpandXML generates the XML document from a template: a line whose first
// non-space text is "<!-- include PATH -->" is replaced by the file PATH
// (only when it ends in .sup) or by every *.sup file of the directory PATH,
// sorted by name (spec §1.11, §5.7). It returns the document and, for each
// of its lines, the file and line it came from.
func ExpandXML(template string) ([]byte, []srcLine, error) {
	var out bytes.Buffer
	var lines []srcLine
	if err := expandInto(template, &out, &lines); err != nil {
		return nil, nil, err
	}
	return out.Bytes(), lines, nil
}

func expandInto(file string, out *bytes.Buffer, lines *[]srcLine) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("supervisor config: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		m := includeRE.FindStringSubmatch(text)
		if m == nil {
			out.WriteString(text)
			out.WriteByte('\n')
			*lines = append(*lines, srcLine{file, n})
			continue
		}
		path := m[1]
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(file), path)
		}
		st, err := os.Stat(path)
		switch {
		case err != nil:
			return configError{File: file, Line: n, Key: "include", Msg: fmt.Sprintf("%s: %v", path, err)}
		case st.Mode().IsRegular():
			if strings.HasSuffix(path, ".sup") {
				if err := expandInto(path, out, lines); err != nil {
					return err
				}
			}
		case st.IsDir():
			names, err := filepath.Glob(filepath.Join(path, "*.sup"))
			if err != nil {
				return configError{File: file, Line: n, Key: "include", Msg: err.Error()}
			}
			sort.Strings(names)
			for _, name := range names {
				if fi, err := os.Stat(name); err != nil || !fi.Mode().IsRegular() {
					continue
				}
				if err := expandInto(name, out, lines); err != nil {
					return err
				}
			}
		default:
			return configError{File: file, Line: n, Key: "include", Msg: fmt.Sprintf("%s is neither a regular file nor a directory", path)}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("supervisor config: reading %s: %w", file, err)
	}
	return nil
}

// xnode is an element of the generated document with its line.
type xnode struct {
	name     string
	line     int
	text     string
	children []*xnode
}

func parseXMLTree(data []byte) (*xnode, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []*xnode
	var root *xnode
	for {
		line, _ := dec.InputPos()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &xnode{name: t.Name.Local, line: line}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else if root == nil {
				root = n
			} else {
				return nil, &xml.SyntaxError{Msg: "second root element <" + n.name + ">", Line: line}
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(t)
			}
		}
	}
	if root == nil {
		return nil, &xml.SyntaxError{Msg: "no root element", Line: 1}
	}
	return root, nil
}

// xmlChecker applies the C supervisor's validation rules (spec §2.1).
type xmlChecker struct {
	lines []srcLine
	errs  ConfigErrors
}

func (x *xmlChecker) at(line int) (string, int) {
	if line >= 1 && line <= len(x.lines) {
		return x.lines[line-1].file, x.lines[line-1].line
	}
	return "", line
}

func (x *xmlChecker) errf(n *xnode, key, format string, a ...any) {
	f, l := x.at(n.line)
	x.errs = append(x.errs, configError{File: f, Line: l, Key: key, Msg: fmt.Sprintf(format, a...)})
}

// children checks the allowed and repeated children of n and returns the
// single-occurrence ones by name.
func (x *xmlChecker) children(n *xnode, allowed []string, repeated string) map[string]*xnode {
	got := map[string]*xnode{}
	for _, c := range n.children {
		ok := c.name == repeated
		for _, a := range allowed {
			ok = ok || c.name == a
		}
		if !ok {
			x.errf(c, c.name, "unexpected element <%s> in <%s>", c.name, n.name)
			continue
		}
		if c.name == repeated {
			continue
		}
		if got[c.name] != nil {
			x.errf(c, c.name, "too many <%s> elements in <%s>", c.name, n.name)
			continue
		}
		got[c.name] = c
	}
	return got
}

func (x *xmlChecker) required(n *xnode, got map[string]*xnode, names ...string) bool {
	ok := true
	for _, name := range names {
		if c := got[name]; c == nil || strings.TrimSpace(c.text) == "" {
			x.errf(n, name, "<%s> needs a non-empty <%s>", n.name, name)
			ok = false
		}
	}
	return ok
}

func (x *xmlChecker) boolean(n *xnode) bool {
	switch n.text {
	case "true":
		return true
	case "false":
		return false
	}
	x.errf(n, n.name, "<%s> must be exactly true or false, not %q", n.name, n.text)
	return false
}

func (x *xmlChecker) restarts(n *xnode) int {
	v, err := strconv.Atoi(strings.TrimSpace(n.text))
	if err != nil || v < 0 || v > 30 {
		x.errf(n, n.name, "<%s> must be an integer in 0..30, not %q", n.name, n.text)
		return 0
	}
	if v == 30 {
		return -1
	}
	return v
}

var xmlTypes = map[string]byte{
	"TCP": trap.KindTCP, "UNIXSOCKET": trap.KindUNIX, "FILE": trap.KindFile, "BLACKHOLE": trap.KindBlackhole, "TLS": trap.KindTLS,
}

// LoadXML reads a legacy XML template with its includes and validates it
// with the C supervisor's rules (stricter where spec §2.1 says so).
func LoadXML(template string) (*Config, error) {
	data, lines, err := ExpandXML(template)
	if err != nil {
		return nil, err
	}
	return parseXMLConfig(template, data, lines)
}

func parseXMLConfig(template string, data []byte, lines []srcLine) (*Config, error) {
	x := &xmlChecker{lines: lines}
	root, err := parseXMLTree(data)
	if err != nil {
		var se *xml.SyntaxError
		if errors.As(err, &se) {
			f, l := x.at(se.Line)
			return nil, configError{File: f, Line: l, Msg: "XML syntax error: " + se.Msg}
		}
		return nil, fmt.Errorf("%s: %w", template, err)
	}
	c := &Config{Source: template, XML: true, Settings: DefaultSettings()}
	if root.name != "nemea-supervisor" {
		x.errf(root, root.name, "the root element must be <nemea-supervisor>, not <%s>", root.name)
		return nil, x.errs
	}
	if len(root.children) == 0 {
		x.errf(root, root.name, "<nemea-supervisor> is empty")
		return nil, x.errs
	}
	top := x.children(root, []string{"supervisor"}, "modules")
	if sup := top["supervisor"]; sup != nil {
		got := x.children(sup, []string{"module-restarts"}, "")
		if len(sup.children) == 0 {
			x.errf(sup, "supervisor", "<supervisor> must not be empty")
		}
		if r := got["module-restarts"]; r != nil {
			c.Settings.RestartsPerMinute = x.restarts(r)
		}
	}
	where := map[*ModuleSpec]*xnode{}
	elems := map[*ModuleSpec]map[string]*xnode{}
	seenProf := map[string]bool{}
	for _, p := range root.children {
		if p.name != "modules" {
			continue
		}
		got := x.children(p, []string{"name", "enabled"}, "module")
		if !x.required(p, got, "name", "enabled") {
			continue
		}
		pname := got["name"].text
		if seenProf[pname] {
			x.errf(got["name"], "name", "duplicate profile name %q", pname)
		}
		seenProf[pname] = true
		c.Profiles = append(c.Profiles, ProfileSpec{Name: pname, Enabled: x.boolean(got["enabled"])})
		for _, mn := range p.children {
			if mn.name != "module" {
				continue
			}
			if m := x.module(mn, pname, c.Settings, &c.Warnings); m != nil {
				where[m] = mn
				elems[m] = x.children(mn, moduleElems, "")
				c.Modules = append(c.Modules, m)
			}
		}
	}
	if len(x.errs) > 0 {
		return nil, x.errs
	}
	err = c.finish(func(m *ModuleSpec, key string) (string, int) {
		n := where[m]
		if e := elems[m][key]; e != nil {
			n = e
		} else if key == "interfaces" && elems[m]["trapinterfaces"] != nil {
			n = elems[m]["trapinterfaces"]
		}
		return x.at(n.line)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

var moduleElems = []string{"name", "enabled", "path", "params", "module-restarts", "trap-args-ignore", "trapinterfaces"}

func (x *xmlChecker) module(mn *xnode, profile string, s Settings, warnings *[]string) *ModuleSpec {
	before := len(x.errs)
	if len(mn.children) == 0 {
		x.errf(mn, "module", "<module> must not be empty")
		return nil
	}
	got := x.children(mn, moduleElems, "")
	if !x.required(mn, got, "name", "path", "enabled") {
		return nil
	}
	m := &ModuleSpec{
		Name: got["name"].text, Profile: profile, Enabled: x.boolean(got["enabled"]), Path: got["path"].text,
		PassInterfaces: got["trap-args-ignore"] == nil, RestartsPerMinute: s.RestartsPerMinute,
		StopTimeout: s.StopTimeout, StopSignal: syscall.SIGINT, Restart: RestartAlways,
	}
	if p := got["params"]; p != nil {
		args, warn, err := SplitParams(p.text)
		if err != nil {
			x.errf(p, "params", "module %s: %v", m.Name, err)
		}
		if warn != "" {
			*warnings = append(*warnings, "module "+m.Name+": "+warn)
		}
		m.Args, m.Params = args, p.text
	}
	if r := got["module-restarts"]; r != nil {
		m.RestartsPerMinute = x.restarts(r)
	}
	if ti := got["trapinterfaces"]; ti != nil {
		x.children(ti, nil, "interface")
		for _, in := range ti.children {
			if in.name != "interface" {
				continue
			}
			if ifc, ok := x.iface(in, m.Name); ok {
				m.Interfaces = append(m.Interfaces, ifc)
			}
		}
	}
	m.ServiceIFC = len(m.Interfaces) > 0 || m.PassInterfaces
	if len(x.errs) > before {
		return nil
	}
	return m
}

func (x *xmlChecker) iface(in *xnode, module string) (Interface, bool) {
	var ifc Interface
	if len(in.children) == 0 {
		x.errf(in, "interface", "module %s: <interface> must not be empty", module)
		return ifc, false
	}
	got := x.children(in, []string{"type", "direction", "params", "note"}, "")
	if !x.required(in, got, "type", "direction") {
		return ifc, false
	}
	k, ok := xmlTypes[got["type"].text]
	if !ok {
		x.errf(got["type"], "type", "module %s: interface type %q is not TCP, UNIXSOCKET, FILE, BLACKHOLE or TLS", module, got["type"].text)
		return ifc, false
	}
	ifc.Kind = k
	switch got["direction"].text {
	case "IN":
		ifc.In = true
	case "OUT":
	default:
		x.errf(got["direction"], "direction", "module %s: direction %q is not IN or OUT", module, got["direction"].text)
		return ifc, false
	}
	if p := got["params"]; p != nil {
		// Legacy rewrite: the first comma becomes a colon (host,port).
		ifc.Spec = strings.Replace(p.text, ",", ":", 1)
	}
	if n := got["note"]; n != nil {
		if n.text == "" {
			x.errf(n, "note", "module %s: <note> must not be empty", module)
		}
		ifc.Note = n.text
	}
	if err := checkIfc(ifc); err != nil {
		x.errf(in, "interface", "module %s: %v", module, err)
		return ifc, false
	}
	return ifc, true
}
