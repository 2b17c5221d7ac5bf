// Package ce defines what cesub knows about a computing element independent
// of its flavour: how a CE address is written and parsed, which flavour it
// speaks, the Backend interface and registry, the errors every flavour
// shares (ErrNotFound) and the hints for the usual network and TLS
// failures. CE backends (pkg/ce/<flavour>) build on it.
package ce

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Flavour names a CE protocol family.
type Flavour string

// The flavours cesub knows.
const (
	ARC      Flavour = "arc"      // ARC CE (A-REX), REST
	EMIES    Flavour = "emies"    // ARC CE, EMI-ES SOAP
	HTCondor Flavour = "htcondor" // HTCondor-CE, CEDAR
)

// HTCondorCEPort is the HTCondor-CE shared port.
const HTCondorCEPort = 9619

// Address is a parsed CE address.
type Address struct {
	Flavour Flavour
	Host    string
	Port    int
	Path    string // ARC endpoint path, default /arex
}

// ParseAddress reads `host`, `host:port`, or a URL (https://host:443/arex,
// arcrest://, emies://, condor://host:9619, htcondor://). The flavour comes
// from flavour if not empty, else from the scheme, else from the port (9619
// is HTCondor-CE), else ARC.
func ParseAddress(s string, flavour Flavour) (Address, error) {
	if s == "" {
		return Address{}, fmt.Errorf("empty CE address")
	}
	var a Address
	scheme := ""
	rest := s
	if i := strings.Index(s, "://"); i >= 0 {
		u, err := url.Parse(s)
		if err != nil {
			return Address{}, fmt.Errorf("CE address %q: %w", s, err)
		}
		scheme = strings.ToLower(u.Scheme)
		rest = u.Host
		a.Path = u.Path
	} else if i := strings.Index(s, "/"); i >= 0 {
		rest, a.Path = s[:i], s[i:]
	}
	host, portStr, err := net.SplitHostPort(rest)
	if err != nil {
		host, portStr = strings.Trim(rest, "[]"), ""
	}
	if host == "" {
		return Address{}, fmt.Errorf("CE address %q has no host", s)
	}
	a.Host = host
	if portStr != "" {
		p, err := strconv.Atoi(portStr)
		if err != nil || p < 1 || p > 65535 {
			return Address{}, fmt.Errorf("CE address %q: bad port %q", s, portStr)
		}
		a.Port = p
	}
	switch {
	case flavour != "":
		a.Flavour = flavour
	case scheme == "condor" || scheme == "htcondor":
		a.Flavour = HTCondor
	case scheme == "emies":
		a.Flavour = EMIES
	case scheme == "https" || scheme == "arcrest" || scheme == "arc":
		a.Flavour = ARC
	case scheme != "":
		if scheme == "http" {
			return Address{}, fmt.Errorf("CE address %q: plain http is refused (a bearer token or proxy would cross the network readable): use https://", s)
		}
		return Address{}, fmt.Errorf("CE address %q: unknown scheme %q (want https, arcrest, emies, condor)", s, scheme)
	case a.Port == HTCondorCEPort:
		a.Flavour = HTCondor
	default:
		a.Flavour = ARC
	}
	switch a.Flavour {
	case ARC, EMIES:
		if a.Port == 0 {
			a.Port = 443
		}
		if a.Path == "" || a.Path == "/" {
			a.Path = "/arex"
		}
	case HTCondor:
		if a.Port == 0 {
			a.Port = HTCondorCEPort
		}
		a.Path = ""
	default:
		return Address{}, fmt.Errorf("unknown CE flavour %q (want arc, emies or htcondor)", a.Flavour)
	}
	return a, nil
}

// HostPort is host:port, bracketed for IPv6.
func (a Address) HostPort() string { return net.JoinHostPort(a.Host, strconv.Itoa(a.Port)) }

// URL is the endpoint URL (https for ARC, condor:// for HTCondor-CE).
func (a Address) URL() string {
	if a.Flavour == HTCondor {
		return "condor://" + a.HostPort()
	}
	return "https://" + a.HostPort() + a.Path
}

// Arg is the address as -C takes it back, flavour included (emies:// for
// EMI-ES, whose endpoint URL alone would be read as REST).
func (a Address) Arg() string {
	if a.Flavour == EMIES {
		return "emies://" + a.HostPort() + a.Path
	}
	return a.URL()
}

// Audiences lists the token audiences this CE accepts by default, preferred
// first: ARC CEs `https://host:port` (DIRAC's and ARC's convention, plus the
// port-less form for 443); HTCondor-CE `host:9619` (and condor://host:9619).
func (a Address) Audiences() []string {
	switch a.Flavour {
	case HTCondor:
		return []string{a.HostPort(), "condor://" + a.HostPort()}
	default:
		out := []string{"https://" + a.HostPort()}
		if a.Port == 443 {
			out = append(out, "https://"+a.Host)
		}
		return out
	}
}
