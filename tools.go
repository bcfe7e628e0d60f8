//go:build tools

package flowgate

import (
	_ "github.com/gopacket/gopacket"
	_ "github.com/gopacket/gopacket/pcapgo"
	_ "github.com/klauspost/compress/zstd"
	_ "github.com/netsampler/goflow2/v2/decoders/netflow"
	_ "github.com/pierrec/lz4/v4"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/spf13/viper"
	_ "go.uber.org/zap"
)
