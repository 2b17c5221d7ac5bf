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
	"slices"
	"strconv"
	"strings"
)

// Flavour names a CE protocol family.
type Flavour string

// The flavours cesub ships (each registers itself from its package).
const (
	ARC      Flavour = "arc"      // ARC CE (A-REX), REST
	EMIES    Flavour = "emies"    // ARC CE, EMI-ES SOAP
	HTCondor Flavour = "htcondor" // HTCondor-CE, CEDAR
)

// Address is a parsed CE address.
type Address struct {
	Flavour Flavour
	Host    string
	Port    int
	Path    string // endpoint path where the flavour has one (ARC: /arex)
}

// ParseAddress reads a CE address with the flavours registered in Backends
// (see Registry.ParseAddress).
func ParseAddress(s string, flavour Flavour) (Address, error) {
	return Backends.ParseAddress(s, flavour)
}

// ParseAddress reads `host`, `host:port`, `host/path` or a URL
// (https://host:443/arex, emies://, condor://host:9619, …). The flavour
// comes from flavour if not empty, else from the URL scheme (each flavour
// registers its schemes), else from the port (a flavour may claim its
// default port), else the default flavour. Port and path default to the
// flavour's.
func (r *Registry) ParseAddress(s string, flavour Flavour) (Address, error) {
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
	infos := r.infos()
	var info *RegInfo
	switch {
	case flavour != "":
		for i := range infos {
			if infos[i].Flavour == flavour {
				info = &infos[i]
			}
		}
		if info == nil {
			return Address{}, fmt.Errorf("unknown CE flavour %q (want %s)", flavour, joinFlavours(infos))
		}
	case scheme != "":
		for i := range infos {
			if slices.Contains(infos[i].Schemes, scheme) {
				info = &infos[i]
			}
		}
		if info == nil {
			if scheme == "http" {
				return Address{}, fmt.Errorf("CE address %q: plain http is refused (a bearer token or proxy would cross the network readable): use https://", s)
			}
			var all []string
			for _, in := range infos {
				all = append(all, in.Schemes...)
			}
			return Address{}, fmt.Errorf("CE address %q: unknown scheme %q (want %s)", s, scheme, strings.Join(all, ", "))
		}
	default:
		for i := range infos {
			if infos[i].ImpliedByPort && a.Port != 0 && a.Port == infos[i].DefaultPort {
				info = &infos[i]
			}
		}
		for i := range infos {
			if info == nil && infos[i].Default {
				info = &infos[i]
			}
		}
		if info == nil {
			return Address{}, fmt.Errorf("CE address %q: no flavour given and none is the default (have %s)", s, joinFlavours(infos))
		}
	}
	a.Flavour = info.Flavour
	if a.Port == 0 {
		a.Port = info.DefaultPort
	}
	if a.Port == 0 {
		return Address{}, fmt.Errorf("CE address %q: give the port (%s has no default)", s, info.Flavour)
	}
	switch {
	case info.DefaultPath == "":
		a.Path = ""
	case a.Path == "" || a.Path == "/":
		a.Path = info.DefaultPath
	}
	return a, nil
}

func joinFlavours(infos []RegInfo) string {
	var names []string
	for _, in := range infos {
		names = append(names, string(in.Flavour))
	}
	return strings.Join(names, ", ")
}

// info is the registration of the address's flavour (zero when unknown).
func (a Address) info() RegInfo {
	in, _ := Backends.Info(a.Flavour)
	return in
}

// HostPort is host:port, bracketed for IPv6.
func (a Address) HostPort() string { return net.JoinHostPort(a.Host, strconv.Itoa(a.Port)) }

// URL is the endpoint URL (https://host:port/arex for ARC, condor://host:port
// for HTCondor-CE): the flavour's URL scheme, host, port and path.
func (a Address) URL() string {
	scheme := a.info().URLScheme
	if scheme == "" {
		scheme = "https"
	}
	return scheme + "://" + a.HostPort() + a.Path
}

// Arg is the address as -C takes it back, flavour included (emies:// for
// EMI-ES, whose endpoint URL alone would be read as REST).
func (a Address) Arg() string {
	if s := a.info().ArgScheme; s != "" {
		return s + "://" + a.HostPort() + a.Path
	}
	return a.URL()
}

// Audiences lists the token audiences this CE accepts by default, preferred
// first, as its flavour registered them (ARC: https://host:port; HTCondor-CE:
// host:port).
func (a Address) Audiences() []string {
	if f := a.info().Audiences; f != nil {
		return f(a)
	}
	return []string{"https://" + a.HostPort()}
}
