package idea

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"
)

// Services maps "port/proto" to a service name, as getservbyport reads
// /etc/services.
type Services map[string]string

// Lookup returns the service of port/proto, or "".
func (s Services) Lookup(port uint16, proto string) string {
	return s[strconv.Itoa(int(port))+"/"+proto]
}

// LoadServices reads /etc/services; a missing file gives no services.
func LoadServices(path string) Services {
	f, err := os.Open(path)
	if err != nil {
		return Services{}
	}
	defer f.Close()
	return ParseServices(f)
}

// ParseServices reads the services(5) format: "name port/proto aliases...";
// the first name of a port/proto wins, as getservbyport returns it.
func ParseServices(r io.Reader) Services {
	s := Services{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		if _, ok := s[f[1]]; !ok {
			s[f[1]] = f[0]
		}
	}
	return s
}
