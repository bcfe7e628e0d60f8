package collector

import (
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestSampledErrorLogLimitsBursts(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	onError := SampledErrorLog(zap.New(core), time.Hour, 3, 50)
	d, _ := newTestDecoder(t, Config{})
	for range 100 {
		if err := d.Decode(exporterA, []byte{0, 7, 0, 0}); err != nil {
			onError(err)
		}
	}
	// The first 3, then every 50th after them (the 53rd): 4 entries.
	if got := logs.Len(); got != 4 {
		t.Errorf("%d log entries for 100 errors, want 4", got)
	}
	if got := d.Totals().DecodeErrors.Load(); got != 100 {
		t.Errorf("decode errors %d, want 100 (every error counted)", got)
	}
	if e := logs.All()[0]; e.ContextMap()["kind"] != "version" {
		t.Errorf("first entry %v: want kind=version", e.ContextMap())
	}
}
