// Package config is the flowgate daemon's configuration schema: a
// Configuration struct with DefaultConfiguration() (the embedded
// default.yaml), loading from YAML through viper with every key overridable by
// FLOWGATE_ environment variables, and validation whose errors name the key
// and the values it allows.
//
// Files: config.go (schema and defaults), load.go (viper, environment),
// validate.go (checks, unknown keys), default.yaml (the embedded default).
//
// Unknown keys are checked here, against the schema, rather than with
// viper's UnmarshalExact, so that the error can name the allowed keys for
// the section (and for the source's type) instead of only the bad one.
package config
