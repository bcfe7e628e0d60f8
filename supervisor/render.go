package supervisor

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/flowgate/flowgate/trap"
)

// RenderYAML writes a configuration as the YAML of spec §2.2: what
// "supervisor import-xml" prints and "supcli config --rendered" shows.
// Interfaces become structured fields where the IFC text maps onto them
// exactly, else "spec"; a module's legacy params string becomes args, with
// the original kept as a comment.
func RenderYAML(c *Config) ([]byte, error) {
	f := yamlFile{Version: 1}
	s, d := c.Settings, DefaultSettings()
	rs := func(v int) *int {
		if v == -1 {
			v = 30
		}
		return &v
	}
	str := func(v, def string) string {
		if v == def {
			return ""
		}
		return v
	}
	f.Supervisor = yamlSupervisor{LogsDir: str(s.LogsDir, d.LogsDir), Socket: str(s.Socket, d.Socket), TrapSocketDir: str(s.TrapSocketDir, d.TrapSocketDir)}
	if s.RestartsPerMinute != d.RestartsPerMinute {
		f.Supervisor.RestartsPerMinute = rs(s.RestartsPerMinute)
	}
	dur := func(v, def time.Duration) string {
		if v == def {
			return ""
		}
		return v.String()
	}
	f.Supervisor.StatsInterval = dur(s.StatsInterval, d.StatsInterval)
	f.Supervisor.StatsTimeout = dur(s.StatsTimeout, d.StatsTimeout)
	f.Supervisor.StopTimeout = dur(s.StopTimeout, d.StopTimeout)
	f.Supervisor.RestartWindow = dur(s.RestartWindow, d.RestartWindow)
	f.Supervisor.HTTP.Listen = s.HTTPListen
	for _, p := range c.Profiles {
		yp := yamlProfile{Name: p.Name, Enabled: &p.Enabled}
		for _, m := range c.Modules {
			if m.Profile != p.Name {
				continue
			}
			en := m.Enabled
			ym := yamlModule{Name: m.Name, Enabled: &en, Path: m.Path, Args: m.Args, Env: m.Env, Workdir: m.Workdir, Description: m.Description}
			if m.RestartsPerMinute != s.RestartsPerMinute {
				ym.RestartsPerMinute = rs(m.RestartsPerMinute)
			}
			if m.StopTimeout != s.StopTimeout {
				ym.StopTimeout = m.StopTimeout.String()
			}
			if !m.PassInterfaces {
				f := false
				ym.PassInterfaces = &f
			}
			if m.Restart != RestartAlways {
				ym.Restart = m.Restart
			}
			for _, ifc := range m.Interfaces {
				ym.Interfaces = append(ym.Interfaces, structured(ifc))
			}
			yp.Modules = append(yp.Modules, ym)
		}
		f.Profiles = append(f.Profiles, yp)
	}
	var root yaml.Node
	if err := root.Encode(&f); err != nil {
		return nil, fmt.Errorf("supervisor: rendering YAML: %w", err)
	}
	// Keep each legacy params string as a comment on its args.
	params := map[string]string{}
	for _, m := range c.Modules {
		if m.Params != "" {
			params[m.Name] = m.Params
		}
	}
	commentParams(&root, params)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&root); err != nil {
		return nil, fmt.Errorf("supervisor: rendering YAML: %w", err)
	}
	enc.Close()
	return b.Bytes(), nil
}

// commentParams finds module mappings (those with name and path) and puts
// "params: ..." as the comment of their args key.
func commentParams(n *yaml.Node, params map[string]string) {
	if n.Kind == yaml.MappingNode {
		var name string
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "name" {
				name = n.Content[i+1].Value
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "args" {
				if p, ok := params[name]; ok {
					n.Content[i].HeadComment = "params: " + p
				}
			}
		}
	}
	for _, c := range n.Content {
		commentParams(c, params)
	}
}

// structured turns an interface into YAML fields, falling back to spec
// when the structured form would not give the same IFC text back.
func structured(ifc Interface) yamlInterface {
	y := yamlInterface{Dir: "out", Note: ifc.Note}
	if ifc.In {
		y.Dir = "in"
	}
	for name, k := range ifcKinds {
		if k == ifc.Kind {
			y.Type = name
		}
	}
	parts := strings.Split(ifc.Spec, ":")
	var pos []string
	opts := map[string]string{}
	for _, p := range parts {
		if k, v, ok := strings.Cut(p, "="); ok {
			opts[k] = v
		} else {
			pos = append(pos, p)
		}
	}
	if len(opts) > 0 {
		y.Options = opts
	}
	ok := false
	switch ifc.Kind {
	case trap.KindUNIX:
		if len(pos) == 1 {
			y.Name, ok = pos[0], true
		}
	case trap.KindTCP:
		if ifc.In && len(pos) == 2 {
			y.Host = pos[0]
			y.Port, _ = strconv.Atoi(pos[1])
			ok = true
		} else if !ifc.In && len(pos) == 1 {
			y.Port, _ = strconv.Atoi(pos[0])
			ok = true
		}
	case trap.KindBlackhole:
		ok = ifc.Spec == ""
	case trap.KindFile:
		if len(pos) >= 1 && len(pos) <= 2 {
			y.Path = pos[0]
			if len(pos) == 2 {
				y.Mode = pos[1]
			}
			if v, has := opts["time"]; has {
				y.Time, _ = strconv.Atoi(v)
				delete(opts, "time")
			}
			if v, has := opts["size"]; has {
				y.Size, _ = strconv.Atoi(v)
				delete(opts, "size")
			}
			if len(opts) == 0 {
				y.Options = nil
			}
			ok = true
		}
	}
	if ok {
		if back, err := y.resolve(); err == nil && back.Spec == ifc.Spec {
			return y
		}
	}
	spec := ifc.Spec
	return yamlInterface{Dir: y.Dir, Type: y.Type, Spec: &spec, Note: ifc.Note}
}
