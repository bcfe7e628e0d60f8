package config

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
)

var durationType = reflect.TypeOf(time.Duration(0))

// decodeHooks are viper's usual conversions (durations and lists from
// strings) behind strictDuration.
func decodeHooks() viper.DecoderConfigOption {
	return viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		strictDuration,
		mapstructure.StringToTimeDurationHookFunc(),
		mapstructure.StringToSliceHookFunc(","),
	))
}

// errBareNumber is a duration written without a unit: `30` would be read
// as 30 nanoseconds.
var errBareNumber = errors.New("duration without a unit")

// strictDuration rejects a duration given as a bare number (other than 0),
// which would otherwise be taken as nanoseconds.
func strictDuration(from, to reflect.Type, data any) (any, error) {
	if to != durationType {
		return data, nil
	}
	bare := false
	switch from.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		bare = reflect.ValueOf(data).Convert(reflect.TypeOf(float64(0))).Float() != 0
	case reflect.String:
		f, err := strconv.ParseFloat(strings.TrimSpace(data.(string)), 64)
		bare = err == nil && f != 0
	}
	if bare {
		return nil, fmt.Errorf("%w: %v has none (it would be read as nanoseconds); write e.g. 30s or 30m (units ms, s, m, h)", errBareNumber, data)
	}
	return data, nil
}

// decodeError turns mapstructure's multi-line report into one line per
// key: the key, the value and the type wanted.
func decodeError(err error) error {
	var lines []string
	var walk func(e error)
	walk = func(e error) {
		var de *mapstructure.DecodeError
		switch {
		case errors.As(e, &de) && !isJoin(e):
			lines = append(lines, de.Name()+": "+describe(de.Unwrap()))
		case isJoin(e):
			for _, x := range e.(interface{ Unwrap() []error }).Unwrap() {
				walk(x)
			}
		default:
			if u := errors.Unwrap(e); u != nil {
				walk(u)
				return
			}
			lines = append(lines, e.Error())
		}
	}
	walk(err)
	if len(lines) == 0 {
		return err
	}
	return errors.New(strings.Join(lines, "; "))
}

func isJoin(e error) bool {
	_, ok := e.(interface{ Unwrap() []error })
	return ok
}

// describe says what was wrong with a value in words.
func describe(err error) string {
	var pe *mapstructure.ParseError
	var ue *mapstructure.UnconvertibleTypeError
	switch {
	case errors.As(err, &pe):
		return fmt.Sprintf("%s is not %s", quote(pe.Value), typeName(pe.Expected.Type()))
	case errors.As(err, &ue):
		return fmt.Sprintf("%s is not %s", quote(ue.Value), typeName(ue.Expected.Type()))
	}
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

func quote(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%v", v)
}

func typeName(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration (e.g. 30s, 30m)"
	case t.Kind() == reflect.Bool:
		return "a boolean (true or false)"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "an integer"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "a number"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Slice:
		return "a list"
	case t.Kind() == reflect.Map || t.Kind() == reflect.Struct:
		return "a mapping"
	case t.Kind() == reflect.Pointer:
		return typeName(t.Elem())
	}
	return t.String()
}
