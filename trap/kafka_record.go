package trap

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// A k: record is one TRAP container: the 14-byte socket container header
// (BE payload length, LE number of the first message, LE message count)
// and the messages, each with its BE uint16 length. Two record headers
// carry the format, so a consumer negotiates per record and a format
// change is just a record with other headers.
const (
	KafkaHeaderFormat = "trap.format" // "unirec", "raw" or "json"
	KafkaHeaderSpec   = "trap.spec"   // the UniRec template (or JSON specifier)
)

// kafkaHeaders returns the record headers that announce h.
func kafkaHeaders(h Hello) []kgo.RecordHeader {
	hs := []kgo.RecordHeader{{Key: KafkaHeaderFormat, Value: []byte(h.Format.String())}}
	if h.Format == FormatUniRec || h.Format == FormatJSON {
		hs = append(hs, kgo.RecordHeader{Key: KafkaHeaderSpec, Value: []byte(h.Spec)})
	}
	return hs
}

// errBadRecord marks a Kafka record that is not a valid TRAP container.
var errBadRecord = errors.New("not a valid TRAP container")

// parseKafkaFormat reads the format headers of a record. It allocates
// only when the format differs from cur.
func parseKafkaFormat(hs []kgo.RecordHeader, cur Hello, haveCur bool) (Hello, bool, error) {
	var fmtv, spec []byte
	haveFmt := false
	for i := range hs {
		switch hs[i].Key {
		case KafkaHeaderFormat:
			fmtv, haveFmt = hs[i].Value, true
		case KafkaHeaderSpec:
			spec = hs[i].Value
		}
	}
	if !haveFmt {
		return Hello{}, false, fmt.Errorf("%w: no %s header", errBadRecord, KafkaHeaderFormat)
	}
	var f Format
	switch string(fmtv) {
	case "unirec":
		f = FormatUniRec
	case "raw":
		f = FormatRaw
	case "json":
		f = FormatJSON
	default:
		return Hello{}, false, fmt.Errorf("%w: unknown format %q in the %s header", errBadRecord, truncForLog(fmtv), KafkaHeaderFormat)
	}
	if f == FormatUniRec && len(spec) == 0 {
		return Hello{}, false, fmt.Errorf("%w: unirec format without a %s header", errBadRecord, KafkaHeaderSpec)
	}
	if haveCur && cur.Format == f && cur.Spec == string(spec) { // the comparison does not allocate
		return cur, false, nil
	}
	return Hello{Format: f, Spec: string(spec)}, true, nil
}

// checkContainer validates a record value as a container and returns its
// payload (the messages).
func checkContainer(v []byte) ([]byte, int, error) {
	if len(v) < ContainerHeaderSize {
		return nil, 0, fmt.Errorf("%w: %d bytes, shorter than the %d-byte container header", errBadRecord, len(v), ContainerHeaderSize)
	}
	plen, _, count := ParseContainerHeader(v)
	payload := v[ContainerHeaderSize:]
	if int(plen) != len(payload) {
		return nil, 0, fmt.Errorf("%w: truncated: header says %d payload bytes, record has %d", errBadRecord, plen, len(payload))
	}
	if count == 0 {
		return nil, 0, fmt.Errorf("%w: empty container", errBadRecord)
	}
	n := 0
	for rest := payload; len(rest) > 0; n++ {
		if len(rest) < 2 {
			return nil, 0, fmt.Errorf("%w: message %d: stray byte", errBadRecord, n)
		}
		m := int(binary.BigEndian.Uint16(rest))
		if 2+m > len(rest) {
			return nil, 0, fmt.Errorf("%w: message %d of %d bytes runs past the end (%d left)", errBadRecord, n, m, len(rest)-2)
		}
		rest = rest[2+m:]
	}
	if n != int(count) {
		return nil, 0, fmt.Errorf("%w: header counts %d messages, payload holds %d", errBadRecord, count, n)
	}
	return payload, n, nil
}

func truncForLog(b []byte) string {
	if len(b) > 64 {
		return string(bytes.ToValidUTF8(b[:64], []byte("?"))) + "..."
	}
	return string(bytes.ToValidUTF8(b, []byte("?")))
}

// kgoLogger passes franz-go's warnings and errors to zap.
type kgoLogger struct{ log *zap.Logger }

func (l kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (l kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	fields := make([]zap.Field, 0, len(keyvals)/2)
	for i := 0; i+1 < len(keyvals); i += 2 {
		k, _ := keyvals[i].(string)
		fields = append(fields, zap.Any(k, keyvals[i+1]))
	}
	switch level {
	case kgo.LogLevelError:
		l.log.Error("kafka: "+msg, fields...)
	case kgo.LogLevelWarn:
		l.log.Warn("kafka: "+msg, fields...)
	default:
		l.log.Debug("kafka: "+msg, fields...)
	}
}

// sampledLog rate-limits a logger used per record: per message text, the
// first 10 a second get through, then every 100th; counters tell the
// whole story.
func sampledLog(log *zap.Logger) *zap.Logger {
	return log.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return zapcore.NewSamplerWithOptions(c, time.Second, 10, 100)
	}))
}

// brokerHooks tracks whether the brokers answer (for HALF_WAIT) and counts
// failed requests and dials, each of which franz-go retries.
type brokerHooks struct {
	onState func(up bool)
	onRetry func()
}

func (h brokerHooks) OnBrokerConnect(_ kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err != nil {
		h.onRetry()
	}
	h.onState(err == nil)
}

func (h brokerHooks) OnBrokerE2E(_ kgo.BrokerMetadata, key int16, e2e kgo.BrokerE2E) {
	if e2e.WriteErr != nil || e2e.ReadErr != nil {
		if key == 0 { // Produce
			h.onRetry()
		}
		if !errors.Is(e2e.ReadErr, context.Canceled) && !errors.Is(e2e.WriteErr, context.Canceled) {
			h.onState(false)
		}
	}
}

func (h brokerHooks) OnProduceBatchWritten(kgo.BrokerMetadata, string, int32, kgo.ProduceBatchMetrics) {
	h.onState(true)
}
