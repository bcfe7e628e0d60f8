package config

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/viper"
)

// EnvPrefix prefixes the environment variables that override settings.
const EnvPrefix = "FLOWGATE"

// Load returns the configuration: the embedded default, the YAML file at
// path merged over it (unless path is ""; a file's sources: or outputs:
// list replaces the default list as a whole), then FLOWGATE_ environment
// overrides; defaults are filled in and the result validated.
func Load(path string) (Configuration, error) {
	var file []byte
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return Configuration{}, fmt.Errorf("config: %w", err)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			b = []byte("{}")
		}
		file = b
	}
	c, err := parse(file, true)
	if err != nil {
		if path != "" {
			return Configuration{}, fmt.Errorf("config %s: %w", path, err)
		}
		return Configuration{}, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

// FromEnv returns the embedded default with FLOWGATE_ environment overrides
// applied, validated.
func FromEnv() (Configuration, error) {
	c, err := parse(nil, true)
	if err != nil {
		return Configuration{}, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

func readYAML(b []byte) (map[string]any, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(b)); err != nil {
		return nil, err
	}
	return v.AllSettings(), nil
}

func parse(file []byte, env bool) (Configuration, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(defaultYAML)); err != nil {
		return Configuration{}, fmt.Errorf("embedded default: %w", err)
	}
	if file != nil {
		raw, err := readYAML(file)
		if err != nil {
			return Configuration{}, fmt.Errorf("YAML: %w", err)
		}
		if err := checkKeys(raw); err != nil {
			return Configuration{}, err
		}
		if err := v.MergeConfigMap(raw); err != nil {
			return Configuration{}, err
		}
	}
	if env {
		if err := applyEnv(v); err != nil {
			return Configuration{}, err
		}
	}
	var c Configuration
	if err := v.Unmarshal(&c, decodeHooks()); err != nil {
		return Configuration{}, decodeError(err)
	}
	if err := c.Validate(); err != nil {
		return Configuration{}, err
	}
	return c, nil
}

// scalarKeys are the settings an environment variable can override one by
// one; the lists are overridden whole.
var scalarKeys = []string{"log.level", "log.format", "metrics.listen", "socket_dir"}

func envName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.NewReplacer(".", "_").Replace(key))
}

func applyEnv(v *viper.Viper) error {
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AllowEmptyEnv(true) // FLOWGATE_METRICS_LISTEN= disables metrics
	v.AutomaticEnv()
	known := map[string]bool{}
	for _, k := range scalarKeys {
		known[envName(k)] = true
	}
	for _, list := range []string{"sources", "outputs", "detectors"} {
		name := envName(list)
		known[name] = true
		val, ok := os.LookupEnv(name)
		if !ok {
			continue
		}
		// Indent the value under its key so block and flow YAML both work.
		doc := list + ":\n  " + strings.ReplaceAll(val, "\n", "\n  ") + "\n"
		raw, err := readYAML([]byte(doc))
		if err != nil {
			return fmt.Errorf("%s: YAML: %w", name, err)
		}
		if err := checkKeys(raw); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		v.Set(list, raw[list])
	}
	// A misspelt variable would otherwise be ignored silently.
	var unknown []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, EnvPrefix+"_") && !known[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		var allowed []string
		for k := range known {
			allowed = append(allowed, k)
		}
		sort.Strings(allowed)
		return fmt.Errorf("unknown environment variable %s; allowed: %s", strings.Join(unknown, ", "), strings.Join(allowed, ", "))
	}
	return nil
}
