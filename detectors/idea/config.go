package idea

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// Config is a reporter_config YAML file: the namespace, custom actions
// and rules. Rule conditions are pynspect filter expressions in NEMEA;
// this port knows only the constant ones (Null/None/True: always, False:
// never) and rejects the others with an error naming the rule.
type Config struct {
	Namespace string
	Actions   map[string]Action
	Rules     []Rule
}

// Action is one custom action: "file" (Path; "-" or /dev/stdout is
// stdout; Dir writes <ID>.idea files into Path) or "trap" (the -T
// output); "drop" is built in and stops the rules.
type Action struct {
	ID   string
	Kind string
	Path string
	Dir  bool
}

// Rule runs Actions when its condition holds, else ElseActions.
type Rule struct {
	ID          string
	Always      bool
	Actions     []string
	ElseActions []string
}

type yamlConfig struct {
	Namespace     string `yaml:"namespace"`
	CustomActions []struct {
		ID   string `yaml:"id"`
		File *struct {
			Path string `yaml:"path"`
			Dir  bool   `yaml:"dir"`
		} `yaml:"file"`
		Trap   any `yaml:"trap"`
		Warden any `yaml:"warden"`
		Mongo  any `yaml:"mongo"`
		Email  any `yaml:"email"`
		Syslog any `yaml:"syslog"`
		Mark   any `yaml:"mark"`
	} `yaml:"custom_actions"`
	Rules []struct {
		ID          any       `yaml:"id"`
		Condition   yaml.Node `yaml:"condition"`
		Actions     []string  `yaml:"actions"`
		ElseActions []string  `yaml:"elseactions"`
	} `yaml:"rules"`
}

// ParseConfig reads a reporter_config YAML document.
func ParseConfig(b []byte) (*Config, error) {
	var y yamlConfig
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&y); err != nil && err != io.EOF {
		return nil, fmt.Errorf("reporter config: %w", err)
	}
	if y.Namespace == "" {
		return nil, fmt.Errorf("reporter config: namespace is required")
	}
	c := &Config{Namespace: y.Namespace, Actions: map[string]Action{}}
	for i, a := range y.CustomActions {
		if a.ID == "" {
			return nil, fmt.Errorf("reporter config: custom_actions[%d] has no id", i)
		}
		switch {
		case a.File != nil:
			if a.File.Path == "" {
				return nil, fmt.Errorf("reporter config: action %q: file needs a path", a.ID)
			}
			c.Actions[a.ID] = Action{ID: a.ID, Kind: "file", Path: a.File.Path, Dir: a.File.Dir}
		case a.Trap != nil:
			c.Actions[a.ID] = Action{ID: a.ID, Kind: "trap"}
		case a.Warden != nil, a.Mongo != nil, a.Email != nil, a.Syslog != nil, a.Mark != nil:
			return nil, fmt.Errorf("reporter config: action %q: only file and trap actions are supported", a.ID)
		default:
			return nil, fmt.Errorf("reporter config: action %q has no type (file or trap)", a.ID)
		}
	}
	for i, r := range y.Rules {
		id := fmt.Sprint(r.ID)
		if r.ID == nil {
			id = fmt.Sprint(i + 1)
		}
		rule := Rule{ID: id, Actions: r.Actions, ElseActions: r.ElseActions}
		n := r.Condition
		switch {
		case n.Kind == 0 || n.Tag == "!!null":
			rule.Always = true
		case n.Tag == "!!bool":
			rule.Always = n.Value == "true" || n.Value == "True" || n.Value == "TRUE"
		case n.Kind == yaml.ScalarNode && (n.Value == "None" || n.Value == "Null" || n.Value == "True"):
			rule.Always = true
		case n.Kind == yaml.ScalarNode && n.Value == "False":
		default:
			return nil, fmt.Errorf("reporter config: rule %s: condition %q: only Null, True and False are supported", id, n.Value)
		}
		for _, a := range append(append([]string{}, rule.Actions...), rule.ElseActions...) {
			if _, ok := c.Actions[a]; !ok && a != "drop" {
				return nil, fmt.Errorf("reporter config: rule %s: unknown action %q", id, a)
			}
		}
		c.Rules = append(c.Rules, rule)
	}
	return c, nil
}

// LoadConfig reads a reporter_config file.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reporter config: %w", err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Dispatcher runs a Config's rules on alerts.
type Dispatcher struct {
	Config *Config
	Stdout io.Writer
	// Trap sends an alert to the -T output; nil if there is none.
	Trap  func(msg []byte) error
	files map[string]*os.File
	buf   []byte
}

// Dispatch runs the rules on one alert, in order, until a drop.
func (d *Dispatcher) Dispatch(obj *Object) error {
	d.buf = append(AppendJSON(d.buf[:0], obj), '\n')
	for _, r := range d.Config.Rules {
		acts := r.ElseActions
		if r.Always {
			acts = r.Actions
		}
		for _, name := range acts {
			if name == "drop" {
				return nil
			}
			if err := d.run(d.Config.Actions[name], obj); err != nil {
				return fmt.Errorf("action %q: %w", name, err)
			}
		}
	}
	return nil
}

func (d *Dispatcher) run(a Action, obj *Object) error {
	switch a.Kind {
	case "trap":
		if d.Trap == nil {
			return fmt.Errorf("no TRAP output (-T)")
		}
		return d.Trap(d.buf[:len(d.buf)-1])
	case "file":
		if a.Path == "-" || a.Path == "/dev/stdout" {
			_, err := d.Stdout.Write(d.buf)
			return err
		}
		if a.Dir {
			id, _ := obj.Get("ID")
			return os.WriteFile(filepath.Join(a.Path, fmt.Sprint(id)+".idea"), d.buf, 0o644)
		}
		if d.files == nil {
			d.files = map[string]*os.File{}
		}
		f := d.files[a.Path]
		if f == nil {
			var err error
			if f, err = os.OpenFile(a.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err != nil {
				return err
			}
			d.files[a.Path] = f
		}
		_, err := f.Write(d.buf)
		return err
	}
	return fmt.Errorf("unknown action kind %q", a.Kind)
}

// Close closes the files the actions opened.
func (d *Dispatcher) Close() error {
	var first error
	for _, f := range d.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
