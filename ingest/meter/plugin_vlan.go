package meter

import "github.com/flowgate/flowgate/unirec"

// vlanPlugin exports VLAN_ID, the 802.1Q id of the flow's first packet (the
// VLAN is also part of the flow key). As in ipfixprobe every flow carries
// its record (0 when untagged).
type vlanPlugin struct {
	noHooks
	id unirec.FieldID
}

func (*vlanPlugin) Name() string { return "vlan" }
func (*vlanPlugin) Spec() string { return "uint16 VLAN_ID" }
func (*vlanPlugin) Init(int)     {}

func (v *vlanPlugin) Bind(t *unirec.Template) error {
	ids := []unirec.FieldID{0}
	if err := lookup(t, "vlan", []string{"VLAN_ID"}, ids); err != nil {
		return err
	}
	v.id = ids[0]
	return nil
}

func (v *vlanPlugin) Fill(f *Flow, r *unirec.Record) error {
	r.SetUint16(v.id, f.Key.VLANID)
	return nil
}
