package idea

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// Blacklist is one blacklist of bl_downloader's configuration.
type Blacklist struct {
	ID                     uint64
	Name, Category, Source string
}

// BlacklistConfig holds the IP and URL/DNS blacklists by bit value
// (2^(id-1)), as blacklist2idea.py looks them up.
type BlacklistConfig struct {
	IP, URL map[uint64]Blacklist
}

type xmlElement struct {
	Name  string `xml:"name,attr"`
	Value string `xml:",chardata"`
}

type xmlStruct struct {
	Elements []xmlElement `xml:"element"`
	Structs  []xmlStruct  `xml:"struct"`
	Arrays   []xmlArray   `xml:"array"`
}

type xmlArray struct {
	Type    string      `xml:"type,attr"`
	Structs []xmlStruct `xml:"struct"`
}

// ParseBlacklistConfig reads bl_downloader_config.xml. A blacklist that
// lacks id, name, category or source ends its array, as in Python; warn
// receives the notice.
func ParseBlacklistConfig(r io.Reader, warn func(string)) (*BlacklistConfig, error) {
	var root xmlStruct
	if err := xml.NewDecoder(r).Decode(&root); err != nil {
		return nil, fmt.Errorf("blacklist config: %w", err)
	}
	c := &BlacklistConfig{IP: map[uint64]Blacklist{}, URL: map[uint64]Blacklist{}}
	var walk func(s xmlStruct)
	walk = func(s xmlStruct) {
		for _, a := range s.Arrays {
			var dst map[uint64]Blacklist
			switch a.Type {
			case "IP":
				dst = c.IP
			case "URL/DNS":
				dst = c.URL
			default:
				continue
			}
			for _, bs := range a.Structs {
				el := map[string]string{}
				for _, e := range bs.Elements {
					el[e.Name] = strings.TrimSpace(e.Value)
				}
				var id uint64
				_, err := fmt.Sscan(el["id"], &id)
				if err != nil || id < 1 || id > 64 || el["name"] == "" || el["category"] == "" || el["source"] == "" {
					if warn != nil {
						warn(fmt.Sprintf("blacklist config: a %s blacklist lacks a valid id, name, category or source; the rest of the array is ignored", a.Type))
					}
					break
				}
				dst[1<<(id-1)] = Blacklist{ID: id, Name: el["name"], Category: el["category"], Source: el["source"]}
			}
		}
		for _, sub := range s.Structs {
			walk(sub)
		}
	}
	walk(root)
	return c, nil
}

// ErrSkip is returned (wrapped) for an alert a reporter drops on purpose.
type ErrSkip struct{ Reason string }

func (e *ErrSkip) Error() string { return e.Reason }

func blacklistReporter() *Reporter {
	return &Reporter{Name: "blacklist", ModuleName: "blacklist", Detector: "blacklistfilter", JSONFormat: "aggregated_blacklist",
		ConvertJSON: convertBlacklist}
}

// aggrWin formats minutes as blacklist2idea does: [<days>D]HH:MM:SS.
func aggrWinMinutes(m int64) string {
	d, h, mm := m/1440, m%1440/60, m%60
	s := fmt.Sprintf("%02d:%02d:00", h, mm)
	if d > 0 {
		s = fmt.Sprintf("%dD", d) + s
	}
	return s
}

func convertBlacklist(msg []byte, o *Options) (*Object, error) {
	var in struct {
		Type        string   `json:"type"`
		Source      string   `json:"source"`
		SourceIP    string   `json:"source_ip"`
		SourceURL   string   `json:"source_url"`
		IsOnlyFQDN  bool     `json:"is_only_fqdn"`
		Targets     []string `json:"targets"`
		SourcePorts []int64  `json:"source_ports"`
		Protocol    int64    `json:"protocol"`
		SrcFlows    int64    `json:"src_sent_flows"`
		SrcPackets  int64    `json:"src_sent_packets"`
		SrcBytes    int64    `json:"src_sent_bytes"`
		TgtFlows    int64    `json:"tgt_sent_flows"`
		TgtPackets  int64    `json:"tgt_sent_packets"`
		TgtBytes    int64    `json:"tgt_sent_bytes"`
		TsFirst     float64  `json:"ts_first"`
		TsLast      float64  `json:"ts_last"`
		AggWin      float64  `json:"agg_win_minutes"`
		BlacklistID uint64   `json:"blacklist_id"`
	}
	if err := json.Unmarshal(msg, &in); err != nil {
		return nil, errf("aggregated_blacklist message: %w", err)
	}
	if o.Blacklist == nil {
		return nil, errf("the blacklist reporter needs --blacklist-config")
	}
	isIP := in.Type == "ip"
	table, kind := o.Blacklist.URL, "url_dns"
	if isIP {
		table, kind = o.Blacklist.IP, "ip"
	}
	bl, ok := table[in.BlacklistID]
	if !ok {
		return nil, &ErrSkip{fmt.Sprintf("Reported blacklist '%s/%d' not found in configuration, skipping alert.", kind, in.BlacklistID)}
	}
	proto := map[int64]string{1: "icmp", 6: "tcp", 17: "udp"}[in.Protocol]
	src, tgt := &Object{}, &Object{}
	if proto != "" {
		src.Set("Proto", []any{proto})
		tgt.Set("Proto", []any{proto})
	}
	for _, t := range in.Targets {
		ip, err := parseIP(t)
		if err != nil {
			return nil, err
		}
		addAddr(tgt, ip)
	}
	obj := &Object{}
	obj.Set("Category", []any{bl.Category})
	obj.Set("Format", "IDEA0")
	obj.Set("ID", o.id())
	obj.Set("CreateTime", ideaTime(o.now().Unix()))
	obj.Set("EventTime", ideaTime(jsonSecs(in.TsFirst)))
	obj.Set("DetectTime", ideaTime(jsonSecs(in.TsLast)))
	obj.Set("CeaseTime", ideaTime(jsonSecs(in.TsLast)))
	obj.Set("Source", []any{})
	nd := node("blacklistfilter", "Flow", "Blacklist")
	nd.Set("AggrWin", aggrWinMinutes(int64(in.AggWin)))
	// blacklist2idea's Node has AggrWin before Type.
	nd.kv[2], nd.kv[3] = nd.kv[3], nd.kv[2]
	obj.Set("Node", []any{nd})
	obj.Set("Ref", []any{bl.Source})
	srcAddr := in.Source
	if !isIP {
		srcAddr = in.SourceIP
	}
	ip, err := parseIP(srcAddr)
	if err != nil {
		return nil, err
	}
	addAddr(src, ip)
	if (in.Protocol == 6 || in.Protocol == 17) && len(in.SourcePorts) > 0 {
		ports := make([]any, len(in.SourcePorts))
		for i, p := range in.SourcePorts {
			ports[i] = p
		}
		src.Set("Port", ports)
	}
	if isIP {
		obj.Set("Description", "Suspicious communication with IP listed on "+bl.Name+" blacklist")
		obj.Set("FlowCount", in.SrcFlows+in.TgtFlows)
		obj.Set("PacketCount", in.SrcPackets+in.TgtPackets)
		obj.Set("ByteCount", in.SrcBytes+in.TgtBytes)
		if in.SrcFlows > 0 {
			src.Set("OutFlowCount", in.SrcFlows)
			src.Set("OutByteCount", in.SrcBytes)
			src.Set("OutPacketCount", in.SrcPackets)
		}
	} else {
		what := "URL"
		if in.IsOnlyFQDN {
			what = "domain name"
			src.Set("Hostname", []any{in.SourceURL})
		} else {
			src.Set("URL", []any{in.SourceURL})
		}
		src.Set("Type", []any{"OriginBlacklist"})
		obj.Set("Description", "Suspicious communication with "+what+" listed on "+bl.Name+" blacklist")
	}
	answered := in.TgtFlows > 0
	if answered {
		src.Set("InFlowCount", in.TgtFlows)
		src.Set("InByteCount", in.TgtBytes)
		src.Set("InPacketCount", in.TgtPackets)
	}
	switch strings.ReplaceAll(bl.Category, ".", "") {
	case "IntrusionBotnet":
		src.Set("Type", []any{"CC", "Botnet"})
		if answered {
			tgt.Set("Type", []any{"Botnet"})
		}
	case "SuspiciousMiner":
		src.Set("Type", []any{"PoolServer"})
		if answered {
			tgt.Set("Type", []any{"Miner"})
		}
	case "SuspiciousBooter":
		src.Set("Type", []any{"Booter"})
	case "FraudPhishing":
		src.Set("Type", []any{"Phishing"})
	}
	if answered {
		obj.Set("Source", []any{src, tgt})
	} else {
		obj.Set("Source", []any{src})
		obj.Set("Description", "Blacklisted IP tried to communicate with host (with no response)")
		obj.Set("Target", []any{tgt})
	}
	return obj, nil
}
