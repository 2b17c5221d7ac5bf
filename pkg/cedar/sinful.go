package cedar

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Sinful is an HTCondor daemon address: <host:port?addrs=…&alias=…&sock=…>.
type Sinful struct {
	Raw    string
	Host   string // the primary host (an IP address as daemons advertise it)
	Port   string
	Addrs  []string // host:port alternatives from addrs=
	Alias  string   // the DNS name: the TLS host name to verify
	Sock   string   // the shared-port endpoint id
	Params url.Values
}

// ParseSinful reads a sinful string.
func ParseSinful(s string) (*Sinful, error) {
	raw := s
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "<") || !strings.HasSuffix(s, ">") {
		return nil, fmt.Errorf("sinful string %q: not <…>", raw)
	}
	s = s[1 : len(s)-1]
	hostport, query, _ := strings.Cut(s, "?")
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, fmt.Errorf("sinful string %q: %v", raw, err)
	}
	params, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("sinful string %q: %v", raw, err)
	}
	out := &Sinful{Raw: raw, Host: host, Port: port, Alias: params.Get("alias"), Sock: params.Get("sock"), Params: params}
	if a := params.Get("addrs"); a != "" {
		for _, x := range strings.FieldsFunc(a, func(r rune) bool { return r == '+' || r == ' ' }) { // ParseQuery turned + into a space
			// ip-port, IPv6 in brackets: [::1]-9619
			i := strings.LastIndexByte(x, '-')
			if i <= 0 {
				continue
			}
			out.Addrs = append(out.Addrs, net.JoinHostPort(strings.Trim(x[:i], "[]"), x[i+1:]))
		}
	}
	return out, nil
}

// Address is the host:port to dial.
func (s *Sinful) Address() string { return net.JoinHostPort(s.Host, s.Port) }
