package collector

import (
	"errors"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// SampledErrorLog returns an error handler for NewListener that logs
// through l with a burst sampler: per tick, the first `first` errors are
// logged, then every `thereafter`-th. Errors stay counted per exporter by
// the decoder whatever the log shows, so a flood of bad packets cannot
// flood the log.
func SampledErrorLog(l *zap.Logger, tick time.Duration, first, thereafter int) func(error) {
	sampled := l.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return zapcore.NewSamplerWithOptions(c, tick, first, thereafter)
	}))
	return func(err error) {
		kind := "other"
		switch {
		case errors.Is(err, ErrShort):
			kind = "truncated"
		case errors.Is(err, ErrLength):
			kind = "length"
		case errors.Is(err, ErrVersion):
			kind = "version"
		case errors.Is(err, ErrTemplate):
			kind = "template"
		}
		sampled.Warn("collector: dropped export data", zap.String("kind", kind), zap.Error(err))
	}
}
