package trap

import (
	_ "embed"
	"fmt"
	"strings"
)

// Version is the libtrap version whose behaviour and help text we follow.
const Version = "1.18.2"

// defaultHelpWidth is libtrap's DEFAULT_MAX_TERMINAL_WIDTH, used when
// stdout is not a terminal.
const defaultHelpWidth = 85

// helpColumn is where option descriptions start in the -h output.
const helpColumn = 33

// ifcSpecHelp is the IFC_SPEC help printed by -h trap: libtrap's
// README.ifcspec.md as trap_print_ifc_spec_help reflows it for width 85.
//
//go:embed ifcspec_help.txt
var ifcSpecHelp string

const helpBanner = "TRAP module, libtrap version: " + Version + " \n" +
	"===========================================\n"

// wrapWords appends text to b greedily: a word joins the line while the
// line stays at most width bytes long; continuation lines start with indent
// spaces. col is the column the first word starts at.
func wrapWords(b *strings.Builder, text string, col, indent, width int) {
	words := strings.Fields(text)
	for i, w := range words {
		if i > 0 {
			if col+1+len(w) <= width {
				b.WriteByte(' ')
				col++
			} else {
				b.WriteByte('\n')
				b.WriteString(strings.Repeat(" ", indent))
				col = indent
			}
		}
		b.WriteString(w)
		col += len(w)
	}
	b.WriteByte('\n')
}

// helpEntry writes "  HEAD" padded to helpColumn, the wrapped description
// and a blank line, the layout of every option in trap_print_help.
func helpEntry(b *strings.Builder, head, desc string, width int) {
	b.WriteString("  ")
	b.WriteString(head)
	col := 2 + len(head)
	if col < helpColumn {
		b.WriteString(strings.Repeat(" ", helpColumn-col))
		col = helpColumn
	} else {
		b.WriteByte(' ')
		col++
	}
	wrapWords(b, desc, col, helpColumn, width)
	b.WriteByte('\n')
}

func section(b *strings.Builder, title string) {
	b.WriteString(title)
	b.WriteByte('\n')
	b.WriteString(strings.Repeat("-", len(title)))
	b.WriteByte('\n')
}

// helpText renders the -h output of libtrap's trap_print_help for module m
// invoked as prog, with socketDir as the printed default of TRAP_SOCKET_DIR.
func helpText(m Module, prog, socketDir string, width int) string {
	var b strings.Builder
	b.WriteString(helpBanner)
	fmt.Fprintf(&b, "Name: %s\nInputs: %d\nOutputs: %d\nDescription:\n", m.Name, m.Inputs, m.Outputs)
	b.WriteString("  ")
	wrapWords(&b, m.Description, 2, 2, width)
	fmt.Fprintf(&b, "\nUsage:  %s [COMMON]... [OPTIONS]... \n\n", prog)
	if len(m.Params) > 0 {
		section(&b, "Parameters of module [OPTIONS]:")
		for _, p := range m.Params {
			head := fmt.Sprintf("-%c  --%s", p.Short, p.Long)
			if p.Short == 0 { // a long-only option
				head = "    --" + p.Long
			}
			if p.HasArg {
				head += " <" + p.argType() + ">"
			}
			helpEntry(&b, head, p.Description, width)
		}
		b.WriteByte('\n')
	}
	section(&b, "Common TRAP parameters [COMMON]:")
	helpEntry(&b, "-h [trap,1]", `If no argument, print this message. If "trap" or 1 is given, print TRAP help.`, width)
	helpEntry(&b, "-i IFC_SPEC", `Specification of interface types and their parameters, see "-h trap" (mandatory parameter).`, width)
	helpEntry(&b, "-v", "Be verbose.", width)
	helpEntry(&b, "-vv", "Be more verbose.", width)
	helpEntry(&b, "-vvv", "Be even more verbose.", width)
	b.WriteByte('\n')
	section(&b, "Environment variables that affects output:")
	helpEntry(&b, "LIBTRAP_OUTPUT_FORMAT", `If set to "json", information about module is printed in JSON format.`, width)
	helpEntry(&b, "PAGER", "Show the help output in the set PAGER.", width)
	helpEntry(&b, "TRAP_SOCKET_DIR", "Change path to socket directory (default: "+socketDir+").", width)
	return b.String()
}

// trapHelpText is the -h trap output: the banner, the IFC_SPEC help and
// the k: extension.
func trapHelpText() string { return helpBanner + ifcSpecHelp + ifcSpecHelpKafka }

// jsonString quotes s the way libtrap's trap_convert_module_info_to_json
// does: newlines become \n and tabs spaces, and nothing else is escaped.
// Double quotes stay raw, so the result is not always valid JSON; we keep
// the flaw for byte equality with C modules (help_logger.json).
func jsonString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteByte(' ')
		default:
			b.WriteByte(s[i])
		}
	}
	b.WriteByte('"')
}

// moduleInfoJSON renders the LIBTRAP_OUTPUT_FORMAT=json line, newline included.
func moduleInfoJSON(m Module) string {
	var b strings.Builder
	b.WriteString(`{"name":`)
	jsonString(&b, m.Name)
	b.WriteString(`,"description":`)
	jsonString(&b, m.Description)
	fmt.Fprintf(&b, `,"num_ifc_in":%d,"num_ifc_out":%d,"params":[`, m.Inputs, m.Outputs)
	for i, p := range m.Params {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"short_opt":`)
		if p.Short == 0 {
			jsonString(&b, "")
		} else {
			jsonString(&b, string([]byte{p.Short}))
		}
		b.WriteString(`,"long_opt":`)
		jsonString(&b, p.Long)
		b.WriteString(`,"description":`)
		jsonString(&b, p.Description)
		b.WriteString(`,"argument_type":`)
		if p.HasArg {
			jsonString(&b, p.argType())
			b.WriteString(`,"mandatory_argument": 1}`)
		} else {
			jsonString(&b, "none")
			b.WriteString(`,"mandatory_argument": 0}`)
		}
	}
	b.WriteString("]}\n")
	return b.String()
}
