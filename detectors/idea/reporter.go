// Package idea converts the alerts of the six NEMEA detectors to IDEA
// (Intrusion Detection Extensible Alert) JSON, as NEMEA's Python
// reporters (report2idea/<name>/<name>2idea.py) do (detectors.md §7),
// and carries the reporters' rule configuration (reporter_config).
//
// A Reporter knows its input (a UniRec template or a JSON format name)
// and converts one alert to an Object, or skips it. The Object keeps the
// Python reporters' key order; AppendJSON writes it as json.dumps does.
package idea

import (
	"fmt"
	"sort"
	"time"

	"github.com/flowgate/flowgate/detectors"
	"github.com/flowgate/flowgate/unirec"
)

// Options are what a conversion needs besides the alert.
type Options struct {
	Now       func() time.Time // CreateTime; time.Now when nil
	NewID     func() string    // the alert ID; a random UUID4 when nil
	AggrWin   string           // Node.AggrWin of vportscan and haddrscan ("00:05:00")
	Blacklist *BlacklistConfig // blacklists of the blacklist reporter
	Services  Services         // port -> service name for bruteforce
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *Options) id() string {
	if o.NewID != nil {
		return o.NewID()
	}
	return newUUID4()
}

func (o *Options) aggrWin() string {
	if o.AggrWin == "" {
		return "00:05:00"
	}
	return o.AggrWin
}

// Converter turns one bound UniRec alert into IDEA; nil means skip.
type Converter func(rec unirec.Record, o *Options) (*Object, error)

// Reporter is one of the Python reporters.
type Reporter struct {
	Name       string // folder name in Nemea-Modules/report2idea
	ModuleName string // MODULE_NAME: Node.Name is <namespace>.<ModuleName>
	Detector   string // the detector named in Node.SW
	// JSONFormat is the format name of a JSON input; empty for UniRec.
	JSONFormat string
	// Spec is the UniRec fields a UniRec reporter reads (required set).
	Spec string
	// Bind resolves Spec in the sender's template (UniRec reporters).
	Bind func(t *unirec.Template) (Converter, error)
	// ConvertJSON converts one JSON message (JSON reporters).
	ConvertJSON func(msg []byte, o *Options) (*Object, error)
}

// Reporters returns the reporters by name.
func Reporters() map[string]*Reporter {
	m := map[string]*Reporter{}
	for _, r := range []*Reporter{vportscanReporter(), vportscanDetectorReporter(), haddrscanReporter(), amplificationReporter(), bruteforceReporter(), blacklistReporter(), ddosReporter()} {
		m[r.Name] = r
	}
	return m
}

// Names returns the reporter names, sorted.
func Names() []string {
	var n []string
	for k := range Reporters() {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// head starts an alert: Format, ID, CreateTime.
func head(o *Options) *Object {
	obj := &Object{}
	obj.Set("Format", "IDEA0")
	obj.Set("ID", o.id())
	obj.Set("CreateTime", ideaTime(o.now().Unix()))
	return obj
}

// setSpan sets EventTime to first, then CeaseTime and DetectTime to last
// (seconds), in this order: the scan and amplification reporters' order.
func setSpan(obj *Object, first, last int64) {
	obj.Set("EventTime", ideaTime(first))
	obj.Set("CeaseTime", ideaTime(last))
	obj.Set("DetectTime", ideaTime(last))
}

// endpoint is a Source or Target with Proto, then ip in IP4 or IP6.
func endpoint(proto []any, ip unirec.IP) *Object {
	e := &Object{}
	e.Set("Proto", proto)
	addAddr(e, ip)
	return e
}

// aggrNode is node(detector) with the aggregation window of o (AggrWin
// after Type).
func aggrNode(detector string, o *Options) *Object {
	n := node(detector)
	n.Set("AggrWin", o.aggrWin())
	return n
}

func node(detector string, typ ...any) *Object {
	n := &Object{}
	n.Set("Name", "undefined")
	n.Set("SW", []any{"Nemea", detector})
	if len(typ) == 0 {
		typ = []any{"Flow", "Statistical"}
	}
	n.Set("Type", typ)
	return n
}

// SetNodeName sets Node[0].Name, as report2idea.Run does after conversion.
func SetNodeName(obj *Object, name string) {
	v, _ := obj.Get("Node")
	if l, ok := v.([]any); ok && len(l) > 0 {
		if n, ok := l[0].(*Object); ok {
			n.Set("Name", name)
		}
	}
}

// ValidTimes is report2idea's timestamp check (off with -D): EventTime,
// CeaseTime and DetectTime must lie in [CreateTime - 1 day, CreateTime].
func ValidTimes(obj *Object) bool {
	cv, _ := obj.Get("CreateTime")
	cs, _ := cv.(string)
	create, err := time.Parse("2006-01-02T15:04:05Z", cs)
	if err != nil {
		return false
	}
	for _, k := range []string{"EventTime", "CeaseTime", "DetectTime"} {
		v, ok := obj.Get(k)
		if !ok {
			continue
		}
		s, _ := v.(string)
		t, err := time.Parse("2006-01-02T15:04:05Z", s)
		if err != nil || t.Before(create.Add(-24*time.Hour)) || t.After(create) {
			return false
		}
	}
	return true
}

// fields resolves "type NAME" items into ids.
func fields(t *unirec.Template, spec string, ids ...*unirec.FieldID) error {
	return detectors.Resolve(t, spec, ids...)
}

func secs(t unirec.Time) int64 { return int64(t.Sec()) }

func errf(format string, a ...any) error { return fmt.Errorf("idea: "+format, a...) }
