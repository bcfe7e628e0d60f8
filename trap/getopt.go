package trap

import (
	"fmt"
	"strings"
)

// Opt is one option found by Module.Getopt: its short letter and, for
// options with an argument, the value.
type Opt struct {
	Short byte
	Long  string // the option's long name; options without a letter (Short 0) are told apart by it
	Value string
}

// Getopt parses the module's own options from args (what Init returned),
// in the manner of getopt_long: short options may be bundled (-tc 5,
// -c5), long ones take --name=value or --name value, "--" ends the
// options, and other words are positional. A small parser of our own
// because the standard flag package cannot bundle short options.
func (m Module) Getopt(args []string) (opts []Opt, positional []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			positional = append(positional, args[i+1:]...)
			return opts, positional, nil
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			p, ok := m.longParam(name)
			if !ok {
				return nil, nil, fmt.Errorf("%w: unknown option --%s", ErrBadParams, name)
			}
			switch {
			case !p.HasArg && hasVal:
				return nil, nil, fmt.Errorf("%w: option --%s takes no argument", ErrBadParams, name)
			case p.HasArg && !hasVal:
				if i+1 >= len(args) {
					return nil, nil, fmt.Errorf("%w: option --%s requires an argument", ErrBadParams, name)
				}
				i++
				val = args[i]
			}
			opts = append(opts, Opt{Short: p.Short, Long: p.Long, Value: val})
		case len(a) > 1 && a[0] == '-':
			for j := 1; j < len(a); j++ {
				p, ok := m.shortParam(a[j])
				if !ok {
					return nil, nil, fmt.Errorf("%w: unknown option -%c", ErrBadParams, a[j])
				}
				if !p.HasArg {
					opts = append(opts, Opt{Short: p.Short, Long: p.Long})
					continue
				}
				val := a[j+1:]
				if val == "" {
					if i+1 >= len(args) {
						return nil, nil, fmt.Errorf("%w: option -%c requires an argument", ErrBadParams, a[j])
					}
					i++
					val = args[i]
				}
				opts = append(opts, Opt{Short: p.Short, Long: p.Long, Value: val})
				break
			}
		default:
			positional = append(positional, a)
		}
	}
	return opts, positional, nil
}

func (m Module) shortParam(c byte) (Param, bool) {
	for _, p := range m.Params {
		if p.Short == c && c != 0 {
			return p, true
		}
	}
	return Param{}, false
}

func (m Module) longParam(name string) (Param, bool) {
	for _, p := range m.Params {
		if p.Long == name && name != "" {
			return p, true
		}
	}
	return Param{}, false
}
