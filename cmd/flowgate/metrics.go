package main

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowgate/flowgate/collector"
	"github.com/flowgate/flowgate/ingest"
)

// metrics exports the running instance's counters at scrape time: the
// collectors' per-exporter counters (read from collector.Counters, no
// second bookkeeping on the hot path) and the outputs' delivery counters.
// A reload keeps the counters of every source and output it keeps; a new
// or changed one starts from zero.
type metrics struct{ d *daemon }

var (
	exporterLabels = []string{"source", "exporter", "version", "domain"}
	descPackets    = prometheus.NewDesc("flowgate_packets_total", "Export messages (datagrams or IPFIX-over-TCP messages) received.", exporterLabels, nil)
	descRecords    = prometheus.NewDesc("flowgate_records_total", "Flow records decoded and emitted.", exporterLabels, nil)
	descErrors     = prometheus.NewDesc("flowgate_decode_errors_total", "Messages or sets rejected as malformed.", exporterLabels, nil)
	descTemplates  = prometheus.NewDesc("flowgate_templates_total", "New or changed (options) templates received.", exporterLabels, nil)
	descRefreshes  = prometheus.NewDesc("flowgate_template_refreshes_total", "Identical template re-announcements.", exporterLabels, nil)
	descWithdrawn  = prometheus.NewDesc("flowgate_templates_withdrawn_total", "IPFIX template withdrawals.", exporterLabels, nil)
	descExpired    = prometheus.NewDesc("flowgate_templates_expired_total", "UDP templates expired by the template lifetime.", exporterLabels, nil)
	descMissing    = prometheus.NewDesc("flowgate_missing_template_drops_total", "Data sets dropped because their template was unknown.", exporterLabels, nil)
	descSeqErrors  = prometheus.NewDesc("flowgate_sequence_errors_total", "Messages whose sequence number was not the expected one.", exporterLabels, nil)
	descSeqLost    = prometheus.NewDesc("flowgate_sequence_lost_total", "Records (v9: export packets) missed according to sequence numbers.", exporterLabels, nil)
	descSockDrops  = prometheus.NewDesc("flowgate_socket_drops_total", "Datagrams lost at the socket: dropped by the kernel because a receive buffer was full (SO_RXQ_OVFL), or left unread when a stop's drain ended.", []string{"source"}, nil)
	descReadErrors = prometheus.NewDesc("flowgate_read_errors_total", "Socket read and accept errors.", []string{"source"}, nil)
	descRefused    = prometheus.NewDesc("flowgate_exporters_refused_total", "Messages of new exporter addresses dropped because the exporter table was full.", []string{"source"}, nil)
	descEvicted    = prometheus.NewDesc("flowgate_exporters_evicted_total", "Idle exporters forgotten to make room in a full exporter table.", []string{"source"}, nil)
	descOutSent    = prometheus.NewDesc("flowgate_output_records_total", "Records an output accepted.", []string{"output"}, nil)
	descOutDrops   = prometheus.NewDesc("flowgate_output_drops_total", "Records an output refused (dropped).", []string{"output"}, nil)
	descDetRecords = prometheus.NewDesc("flowgate_detector_records_total", "Records an in-process detector processed.", []string{"detector"}, nil)
	descDetAlerts  = prometheus.NewDesc("flowgate_detector_alerts_total", "Alerts an in-process detector emitted.", []string{"detector"}, nil)
	descDetADrops  = prometheus.NewDesc("flowgate_detector_alert_drops_total", "Alerts the detector's output refused (dropped).", []string{"detector"}, nil)
	descDetIPv6    = prometheus.NewDesc("flowgate_detector_ipv6_skipped_total", "Flows a detector skipped because it handles IPv4 only.", []string{"detector"}, nil)
	descDetEvicted = prometheus.NewDesc("flowgate_detector_evicted_total", "Table entries a detector dropped because its table was full.", []string{"detector"}, nil)
	descDetExpired = prometheus.NewDesc("flowgate_detector_expired_total", "Table entries a detector removed as idle.", []string{"detector"}, nil)
	descDetEntries = prometheus.NewDesc("flowgate_detector_entries", "Entries in a detector's tables.", []string{"detector"}, nil)
	descOutFilter  = prometheus.NewDesc("flowgate_output_filtered_total", "Records an output's filter held back (counted in flowgate_output_records_total, not sent).", []string{"output"}, nil)
	descIfcDrops   = prometheus.NewDesc("flowgate_output_ifc_dropped_total", "Messages a TRAP output interface accepted and then lost (dropped under its timeout, a failed file write).", []string{"output"}, nil)

	// Trap sources' inputs and the k: outputs' own counters (what the
	// service IFC reports).
	descTrapInMsgs    = prometheus.NewDesc("flowgate_trap_input_messages_total", "Messages a trap source's input received.", []string{"source"}, nil)
	descTrapInConts   = prometheus.NewDesc("flowgate_trap_input_containers_total", "Containers (buffers, Kafka records) a trap source's input received.", []string{"source"}, nil)
	descTrapInBad     = prometheus.NewDesc("flowgate_trap_input_bad_records_total", "Kafka records that were no TRAP container, and messages that were no record of the template, skipped.", []string{"source"}, nil)
	descKafkaLag      = prometheus.NewDesc("flowgate_kafka_input_lag", "Records between the last one delivered and the high watermark, per assigned partition.", []string{"source", "partition"}, nil)
	descIfcConts      = prometheus.NewDesc("flowgate_output_ifc_containers_total", "Containers a TRAP output interface finished (Kafka records produced).", []string{"output"}, nil)
	descKafkaDeliv    = prometheus.NewDesc("flowgate_kafka_output_delivered_total", "Messages the Kafka brokers acknowledged.", []string{"output"}, nil)
	descKafkaRetries  = prometheus.NewDesc("flowgate_kafka_output_retries_total", "Failed produce requests and broker dials, each retried.", []string{"output"}, nil)
	descKafkaInFlight = prometheus.NewDesc("flowgate_kafka_output_in_flight", "Containers awaiting the brokers' acknowledgement.", []string{"output"}, nil)
)

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPackets, descRecords, descErrors, descTemplates, descRefreshes, descWithdrawn,
		descExpired, descMissing, descSeqErrors, descSeqLost, descSockDrops, descReadErrors, descRefused, descEvicted,
		descOutSent, descOutDrops, descOutFilter, descIfcDrops, descTrapInMsgs, descTrapInConts, descTrapInBad, descKafkaLag,
		descIfcConts, descKafkaDeliv, descKafkaRetries, descKafkaInFlight, descDetRecords, descDetAlerts, descDetADrops,
		descDetIPv6, descDetEvicted, descDetExpired, descDetEntries} {
		ch <- d
	}
	for _, d := range sflowDescs {
		ch <- d
	}
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	in := m.d.current.Load()
	if in == nil {
		return
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	for _, s := range in.sources {
		if ts, ok := s.(*ingest.TrapSource); ok {
			collectTrapSource(ch, ts)
			continue
		}
		if sf, ok := s.(*ingest.SflowSource); ok {
			collectSflow(ch, sf)
			continue
		}
		c, ok := s.(*ingest.CollectorSource)
		if !ok {
			continue
		}
		name := c.Name()
		c.ExporterSeries(func(k collector.ExporterKey, cnt *collector.Counters) {
			v := cnt.Snapshot()
			exp := []string{k.Addr.String(), strconv.Itoa(int(k.Version)), strconv.FormatUint(uint64(k.Domain), 10)}
			counter(descPackets, v.Packets, name, exp[0], exp[1], exp[2])
			counter(descRecords, v.Records, name, exp[0], exp[1], exp[2])
			counter(descErrors, v.DecodeErrors, name, exp[0], exp[1], exp[2])
			counter(descTemplates, v.TemplatesAdded, name, exp[0], exp[1], exp[2])
			counter(descRefreshes, v.TemplateRefreshes, name, exp[0], exp[1], exp[2])
			counter(descWithdrawn, v.TemplatesWithdrawn, name, exp[0], exp[1], exp[2])
			counter(descExpired, v.TemplatesExpired, name, exp[0], exp[1], exp[2])
			counter(descMissing, v.MissingTemplate, name, exp[0], exp[1], exp[2])
			counter(descSeqErrors, v.SequenceErrors, name, exp[0], exp[1], exp[2])
			counter(descSeqLost, v.SequenceLost, name, exp[0], exp[1], exp[2])
		})
		counter(descSockDrops, c.SocketDrops(), name)
		counter(descReadErrors, c.ReadErrors(), name)
		if tot := c.Totals(); tot != nil {
			counter(descRefused, tot.ExportersRefused.Load(), name)
			counter(descEvicted, tot.ExportersEvicted.Load(), name)
		}
	}
	for _, st := range in.pipeline.OutputStats() {
		counter(descOutSent, st.Sent, st.Name)
		counter(descOutDrops, st.Failed, st.Name)
	}
	for _, o := range in.outputs {
		if t, ok := o.(*ingest.TrapOutput); ok {
			st := t.Stats()
			counter(descOutFilter, t.Filtered(), o.Name())
			counter(descIfcDrops, st.DroppedMessages, o.Name())
			counter(descIfcConts, st.Buffers, o.Name())
			if k := st.Kafka; k != nil {
				counter(descKafkaDeliv, k.DeliveredMessages, o.Name())
				counter(descKafkaRetries, k.Retries, o.Name())
				ch <- prometheus.MustNewConstMetric(descKafkaInFlight, prometheus.GaugeValue, float64(k.InFlight), o.Name())
			}
		}
		if dt, ok := o.(*detectorOutput); ok {
			st, name := dt.det.Stats(), o.Name()
			counter(descDetRecords, st.Records, name)
			counter(descDetAlerts, st.Alerts, name)
			counter(descDetADrops, dt.alertDrops.Load(), name)
			counter(descDetIPv6, st.IPv6Skipped, name)
			counter(descDetEvicted, st.Evicted, name)
			counter(descDetExpired, st.Expired, name)
			ch <- prometheus.MustNewConstMetric(descDetEntries, prometheus.GaugeValue, float64(st.Entries), name)
			counter(descIfcDrops, dt.alerts.Stats().DroppedMessages, dt.alerts.Name())
		}
	}
}

func collectTrapSource(ch chan<- prometheus.Metric, s *ingest.TrapSource) {
	st := s.Stats()
	name := s.Name()
	ch <- prometheus.MustNewConstMetric(descTrapInMsgs, prometheus.CounterValue, float64(st.Messages), name)
	ch <- prometheus.MustNewConstMetric(descTrapInConts, prometheus.CounterValue, float64(st.Buffers), name)
	bad := s.BadRecords()
	if st.Kafka != nil {
		bad += st.Kafka.BadRecords
		for p, lag := range st.Kafka.Lag {
			ch <- prometheus.MustNewConstMetric(descKafkaLag, prometheus.GaugeValue, float64(lag), name, strconv.Itoa(int(p)))
		}
	}
	ch <- prometheus.MustNewConstMetric(descTrapInBad, prometheus.CounterValue, float64(bad), name)
}
