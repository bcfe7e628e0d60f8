package trap

import (
	"bytes"
	"context"
	"testing"
)

// A buffered socket output's SendFixed (a tight loop per container) sends
// the stream one Send per record sends, over many containers, whatever the
// run length; Send's framing is checked against C libtrap's streams
// elsewhere.
func TestSocketSendFixedManyContainersMatchesSend(t *testing.T) {
	msgs := fixedMsgs(5000, 90) // about 5 containers
	stream := func(name, mode string) []byte {
		out, so := newTestOutput(t, testEnv(t), "u:"+name+":autoflush=off")
		if err := out.SetDataFormat(FormatUniRec, "uint32 X"); err != nil {
			t.Fatal(err)
		}
		got := recordAll(outputDial(t, so))
		waitClients(t, so, 1)
		sendVia(t, out, msgs, mode, nil)
		if err := out.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if st := out.Stats(); st.SentMessages != uint64(len(msgs)) || st.Buffers < 4 {
			t.Errorf("%s: stats %+v, want %d messages in several containers", mode, st, len(msgs))
		}
		return <-got
	}
	want := stream("persend", viaSend)
	if got := stream("perfixed", viaFixed); !bytes.Equal(got, want) {
		t.Fatalf("SendFixed stream of %d bytes differs from Send's %d", len(got), len(want))
	}
}
