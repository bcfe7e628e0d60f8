// Command detection is the Go version of NEMEA's detection_example.py: it
// reads basic flow records and, for every flow to port 6666 or from
// 192.168.1.1, prints the flow and sends an alert record.
//
//	detection -i FLOW_IFC,ALERT_IFC
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/flowgate/flowgate/trap"
	"github.com/flowgate/flowgate/unirec"
)

// The input is the basic flow of nfreader and the legacy flow_meter; the
// alert template is the one the Python example sends.
const (
	flowSpec  = "ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,uint64 LINK_BIT_FIELD,time TIME_FIRST,time TIME_LAST,uint32 PACKETS,uint16 DST_PORT,uint16 SRC_PORT,uint8 DIR_BIT_FIELD,uint8 PROTOCOL,uint8 TCP_FLAGS,uint8 TOS,uint8 TTL"
	alertSpec = "ipaddr SRC_IP,ipaddr DST_IP,uint16 DST_PORT,uint16 SRC_PORT,time EVENT_TIME"
)

var module = trap.Module{
	Name:        "detection",
	Description: "Example detector: sends an alert for every flow to port 6666 or from 192.168.1.1.",
	Inputs:      1,
	Outputs:     1,
}

func main() { trap.Main(module, body) }

// run is main with explicit arguments and streams; tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return trap.Run(ctx, module, args, stdout, stderr, body)
}

// body is the module's work once TRAP is set up (trap.Run).
func body(ctx context.Context, tc *trap.Context, _ []string, stdout, stderr io.Writer) int {
	if err := detect(ctx, tc.Input(0), tc.Output(0), stdout); err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	return 0
}

// flowFields are the input field ids, resolved once per template.
type flowFields struct {
	srcIP, dstIP, srcPort, dstPort, timeFirst unirec.FieldID
}

func resolve(t *unirec.Template) (flowFields, error) {
	var f flowFields
	for _, x := range []struct {
		name string
		id   *unirec.FieldID
	}{{"SRC_IP", &f.srcIP}, {"DST_IP", &f.dstIP}, {"SRC_PORT", &f.srcPort}, {"DST_PORT", &f.dstPort}, {"TIME_FIRST", &f.timeFirst}} {
		id, ok := t.Lookup(x.name)
		if !ok {
			return f, fmt.Errorf("input template lacks %s", x.name)
		}
		*x.id = id
	}
	return f, nil
}

func detect(ctx context.Context, in *trap.Input, out *trap.Output, stdout io.Writer) error {
	in.SetRequiredFormat(trap.FormatUniRec, flowSpec)
	flowT, err := unirec.ParseTemplate(flowSpec)
	if err != nil {
		return err
	}
	alertT, err := unirec.ParseTemplate(alertSpec)
	if err != nil {
		return err
	}
	if err := out.SetDataFormat(trap.FormatUniRec, alertT.Spec()); err != nil {
		return err
	}
	ff, err := resolve(flowT)
	if err != nil {
		return err
	}
	a := alertT.NewRecord()
	aSrc, _ := alertT.Lookup("SRC_IP")
	aDst, _ := alertT.Lookup("DST_IP")
	aSport, _ := alertT.Lookup("SRC_PORT")
	aDport, _ := alertT.Lookup("DST_PORT")
	aTime, _ := alertT.Lookup("EVENT_TIME")
	suspect, _ := unirec.ParseIP("192.168.1.1")

	w := bufio.NewWriter(stdout)
	defer w.Flush()
	var line []byte
	for {
		msg, changed, err := in.Recv(ctx)
		if err != nil {
			if errors.Is(err, trap.ErrTerminated) || ctx.Err() != nil {
				return nil
			}
			return err
		}
		if changed {
			// The sender may offer a superset of the required fields.
			_, spec := in.DataFormat()
			if flowT, err = unirec.ParseTemplate(spec); err != nil {
				return err
			}
			if ff, err = resolve(flowT); err != nil {
				return err
			}
		}
		if trap.IsEOS(msg) {
			return nil
		}
		rec, err := flowT.Wrap(msg)
		if err != nil {
			return err
		}
		if rec.Uint16(ff.dstPort) != 6666 && rec.IP(ff.srcIP) != suspect {
			continue
		}
		line = append(rec.AppendText(line[:0], ','), '\n')
		w.Write(line)
		a.SetIP(aSrc, rec.IP(ff.srcIP))
		a.SetIP(aDst, rec.IP(ff.dstIP))
		a.SetUint16(aSport, rec.Uint16(ff.srcPort))
		a.SetUint16(aDport, rec.Uint16(ff.dstPort))
		a.SetTime(aTime, rec.Time(ff.timeFirst))
		if err := out.Send(ctx, a.Data); err != nil {
			return err
		}
	}
}
