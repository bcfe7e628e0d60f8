package trap

import (
	"io"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// verbosityLogger is the logger of a module that did not bring its own
// (WithLogger): plain lines on stderr, as libtrap's VERBOSE macro prints
// them. libtrap's default verbosity (-1, no -v) shows warnings and errors;
// -v (0) adds the basic messages, -vv and -vvv (1, 2) everything.
func verbosityLogger(w io.Writer, verbosity int) *zap.Logger {
	level := zapcore.WarnLevel
	switch {
	case verbosity >= 1:
		level = zapcore.DebugLevel
	case verbosity == 0:
		level = zapcore.InfoLevel
	}
	enc := zapcore.NewConsoleEncoder(zapcore.EncoderConfig{
		LevelKey:         "level",
		MessageKey:       "msg",
		EncodeLevel:      zapcore.CapitalLevelEncoder,
		ConsoleSeparator: " ",
	})
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(w), level))
}
