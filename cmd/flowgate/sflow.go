package main

import (
	"context"
	"net/netip"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/flowgate/flowgate/collector/sflow"
	"github.com/flowgate/flowgate/config"
	"github.com/flowgate/flowgate/ingest"
)

// newSflow builds an sflow source and binds its sockets.
func newSflow(ctx context.Context, s config.SourceConfig, log *zap.Logger) (*ingest.SflowSource, error) {
	sc := ingest.SflowConfig{Name: s.Name, Sockets: s.Sockets, ReceiveBuffer: s.ReceiveBuffer, MaxAgents: s.MaxAgents}
	for _, l := range s.Listen {
		addr, err := config.ParseSflowListen(l)
		if err != nil {
			return nil, err
		}
		sc.UDP = append(sc.UDP, addr)
	}
	var err error
	if sc.Table, err = loadElementTable(s.ElementTable); err != nil {
		return nil, err
	}
	src, err := ingest.NewSflow(sc, log)
	if err != nil {
		return nil, err
	}
	if err := src.Listen(ctx); err != nil {
		return nil, err
	}
	log.Info("listening", zap.String("source", s.Name), zap.String("protocol", "sflow"),
		zap.Strings("udp", uniq(src.UDPAddrs())), zap.Int("sockets_per_udp_address", s.Sockets))
	return src, nil
}

// cliSources separates -l addresses into collector (udp://, tcp://) and
// sFlow (sflow://) sources.
func cliSources(listen []string) []config.SourceConfig {
	var coll, sf []string
	for _, l := range listen {
		if config.IsSflowListen(l) {
			sf = append(sf, l)
		} else {
			coll = append(coll, l)
		}
	}
	var out []config.SourceConfig
	if len(coll) > 0 {
		out = append(out, config.SourceConfig{Type: config.TypeCollector, Name: "cli", Listen: coll, ReceiveBuffer: 16 << 20})
	}
	if len(sf) > 0 {
		out = append(out, config.SourceConfig{Type: config.TypeSflow, Name: "cli-sflow", Listen: sf, ReceiveBuffer: 16 << 20})
	}
	return out
}

var (
	sflowAgentLabels  = []string{"source", "agent", "sub_agent"}
	sflowIfLabels     = []string{"source", "agent", "ifindex"}
	descSfDatagrams   = prometheus.NewDesc("flowgate_sflow_datagrams_total", "sFlow datagrams received per agent.", sflowAgentLabels, nil)
	descSfFlowSamples = prometheus.NewDesc("flowgate_sflow_flow_samples_total", "sFlow flow samples decoded per agent.", sflowAgentLabels, nil)
	descSfCtrSamples  = prometheus.NewDesc("flowgate_sflow_counter_samples_total", "sFlow counter samples decoded per agent.", sflowAgentLabels, nil)
	descSfRecords     = prometheus.NewDesc("flowgate_sflow_records_total", "UniRec records emitted from sFlow flow samples per agent.", sflowAgentLabels, nil)
	descSfErrors      = prometheus.NewDesc("flowgate_sflow_decode_errors_total", "Malformed sFlow datagrams per agent (samples after the damage are lost).", sflowAgentLabels, nil)
	descSfUnknownS    = prometheus.NewDesc("flowgate_sflow_unknown_samples_total", "sFlow samples of unknown enterprise or format, skipped.", sflowAgentLabels, nil)
	descSfUnknownR    = prometheus.NewDesc("flowgate_sflow_unknown_records_total", "sFlow flow or counter records of unknown enterprise or format, skipped.", sflowAgentLabels, nil)
	descSfHeaderErrs  = prometheus.NewDesc("flowgate_sflow_header_errors_total", "Sampled packet headers that were not IP or did not parse.", sflowAgentLabels, nil)
	descSfSeqErrors   = prometheus.NewDesc("flowgate_sflow_sequence_errors_total", "sFlow datagrams whose sequence number was not the expected one.", sflowAgentLabels, nil)
	descSfSeqLost     = prometheus.NewDesc("flowgate_sflow_sequence_lost_total", "sFlow datagrams missed according to sequence numbers.", sflowAgentLabels, nil)
	descSfIfInOctets  = prometheus.NewDesc("flowgate_sflow_if_in_octets_total", "ifInOctets of the agent's last counter sample.", sflowIfLabels, nil)
	descSfIfOutOctets = prometheus.NewDesc("flowgate_sflow_if_out_octets_total", "ifOutOctets of the agent's last counter sample.", sflowIfLabels, nil)
	descSfIfInPkts    = prometheus.NewDesc("flowgate_sflow_if_in_packets_total", "ifInUcastPkts + ifInMulticastPkts + ifInBroadcastPkts of the last counter sample.", sflowIfLabels, nil)
	descSfIfOutPkts   = prometheus.NewDesc("flowgate_sflow_if_out_packets_total", "ifOutUcastPkts + ifOutMulticastPkts + ifOutBroadcastPkts of the last counter sample.", sflowIfLabels, nil)
	descSfIfInErrors  = prometheus.NewDesc("flowgate_sflow_if_in_errors_total", "ifInErrors of the last counter sample.", sflowIfLabels, nil)
	descSfIfOutErrors = prometheus.NewDesc("flowgate_sflow_if_out_errors_total", "ifOutErrors of the last counter sample.", sflowIfLabels, nil)
	descSfIfInDisc    = prometheus.NewDesc("flowgate_sflow_if_in_discards_total", "ifInDiscards of the last counter sample.", sflowIfLabels, nil)
	descSfIfOutDisc   = prometheus.NewDesc("flowgate_sflow_if_out_discards_total", "ifOutDiscards of the last counter sample.", sflowIfLabels, nil)
	sflowDropLabels   = []string{"source", "agent", "sub_agent", "source_id_type", "source_id_index"}
	descSfAgentDrops  = prometheus.NewDesc("flowgate_sflow_agent_drops_total", "Packets an agent's data source could not sample for lack of resources, summed across agent restarts (the increase of the flow samples' cumulative drops field; after a restart the new count is added whole). Never goes backwards.", sflowDropLabels, nil)
	descSfAgentDropsR = prometheus.NewDesc("flowgate_sflow_agent_reported_drops", "The drops field of the data source's latest flow sample, as the agent reports it: cumulative since the agent or data source started, so 0 again after a restart.", sflowDropLabels, nil)
	descSfIfRefused   = prometheus.NewDesc("flowgate_sflow_interfaces_refused_total", "Counter samples dropped because the interface table was full.", []string{"source"}, nil)
)

var sflowDescs = []*prometheus.Desc{descSfDatagrams, descSfFlowSamples, descSfCtrSamples, descSfRecords, descSfErrors,
	descSfUnknownS, descSfUnknownR, descSfHeaderErrs, descSfSeqErrors, descSfSeqLost, descSfIfInOctets, descSfIfOutOctets,
	descSfIfInPkts, descSfIfOutPkts, descSfIfInErrors, descSfIfOutErrors, descSfIfInDisc, descSfIfOutDisc, descSfIfRefused, descSfAgentDrops, descSfAgentDropsR}

// collectSflow exports an sflow source's per-agent and per-interface
// counters (the interface counters are the agent's own, as last sampled).
func collectSflow(ch chan<- prometheus.Metric, s *ingest.SflowSource) {
	name := s.Name()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	s.Agents(func(agent netip.Addr, sub uint32, c *ingest.SflowAgentCounters) {
		a := "other"
		if agent.IsValid() {
			a = agent.String()
		}
		l := []string{name, a, strconv.FormatUint(uint64(sub), 10)}
		counter(descSfDatagrams, c.Datagrams.Load(), l...)
		counter(descSfFlowSamples, c.FlowSamples.Load(), l...)
		counter(descSfCtrSamples, c.CounterSamples.Load(), l...)
		counter(descSfRecords, c.Records.Load(), l...)
		counter(descSfErrors, c.DecodeErrors.Load(), l...)
		counter(descSfUnknownS, c.UnknownSamples.Load(), l...)
		counter(descSfUnknownR, c.UnknownRecords.Load(), l...)
		counter(descSfHeaderErrs, c.HeaderErrors.Load(), l...)
		counter(descSfSeqErrors, c.SequenceErrors.Load(), l...)
		counter(descSfSeqLost, c.SequenceLost.Load(), l...)
	})
	s.Interfaces(func(k ingest.SflowInterfaceKey, c *sflow.CounterSample) {
		if !c.HasIf {
			return
		}
		l := []string{name, k.Agent.String(), strconv.FormatUint(uint64(k.IfIndex), 10)}
		f := &c.If
		counter(descSfIfInOctets, f.InOctets, l...)
		counter(descSfIfOutOctets, f.OutOctets, l...)
		counter(descSfIfInPkts, uint64(f.InUcast)+uint64(f.InMulticast)+uint64(f.InBroadcast), l...)
		counter(descSfIfOutPkts, uint64(f.OutUcast)+uint64(f.OutMulticast)+uint64(f.OutBroadcast), l...)
		counter(descSfIfInErrors, uint64(f.InErrors), l...)
		counter(descSfIfOutErrors, uint64(f.OutErrors), l...)
		counter(descSfIfInDisc, uint64(f.InDiscards), l...)
		counter(descSfIfOutDisc, uint64(f.OutDiscards), l...)
	})
	s.AgentDrops(func(k ingest.SflowSourceKey, d ingest.SflowDrops) {
		l := []string{name, k.Agent.String(), strconv.FormatUint(uint64(k.SubAgent), 10),
			strconv.FormatUint(uint64(k.SourceIDType), 10), strconv.FormatUint(uint64(k.SourceIDIndex), 10)}
		counter(descSfAgentDrops, d.Total, l...)
		ch <- prometheus.MustNewConstMetric(descSfAgentDropsR, prometheus.GaugeValue, float64(d.Reported), l...)
	})
	counter(descSockDrops, s.SocketDrops(), name)
	counter(descReadErrors, s.ReadErrors(), name)
	counter(descSfIfRefused, s.InterfacesRefused(), name)
}

// sflowStopFields are the counters the stop log carries for an sflow source.
func sflowStopFields(s *ingest.SflowSource) []zap.Field {
	t := s.Totals()
	return []zap.Field{zap.String("source", s.Name()), zap.String("protocol", "sflow"),
		zap.Uint64("socket_drops", s.SocketDrops()), zap.Uint64("read_errors", s.ReadErrors()),
		zap.Uint64("datagrams", t.Datagrams), zap.Uint64("flow_samples", t.FlowSamples), zap.Uint64("records", t.Records),
		zap.Uint64("counter_samples", t.CounterSamples), zap.Uint64("decode_errors", t.DecodeErrors),
		zap.Uint64("sequence_lost", t.SequenceLost), zap.Uint64("unknown_samples", t.UnknownSamples),
		zap.Uint64("unknown_records", t.UnknownRecords), zap.Uint64("interfaces_refused", s.InterfacesRefused())}
}
