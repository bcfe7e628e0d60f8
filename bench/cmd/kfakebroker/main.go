// Command kfakebroker runs franz-go's in-process Kafka cluster (kfake) as
// a process, for bench/kafka.sh: one broker on 127.0.0.1:PORT with a
// topic of P partitions. It prints "ready HOST:PORT" once it listens and
// runs until SIGTERM or SIGINT.
//
//	kfakebroker -port PORT -topic flows -partitions 8
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	port := flag.Int("port", 0, "TCP port on 127.0.0.1 (0: any free one)")
	topic := flag.String("topic", "flows", "topic to create")
	parts := flag.Int("partitions", 8, "partitions of the topic")
	flag.Parse()
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(int32(*parts), *topic)}
	if *port != 0 {
		opts = append(opts, kfake.Ports(*port))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kfakebroker:", err)
		os.Exit(1)
	}
	fmt.Println("ready", c.ListenAddrs()[0])
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	c.Close()
}
