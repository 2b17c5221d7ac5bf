package arctools

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/cesub/cesub/pkg/x509proxy"
)

// proxyOptions are arcproxy's options cesub takes.
type proxyOptions struct {
	common
	path, cert, key string
	constraints     []string
	info            bool
	items           []string
	remove          bool
	voms            []string
}

func runProxy(_ context.Context, s *session, args []string) int {
	var o proxyOptions
	fs := newFlags("")
	fs.StringVarP(&o.path, "proxy", "P", "", "path to the proxy file")
	fs.StringVarP(&o.cert, "cert", "C", "", "path to the certificate file")
	fs.StringVarP(&o.key, "key", "K", "", "path to the private key file")
	fs.StringArrayVarP(&o.constraints, "constraint", "c", nil, "proxy constraints: validityPeriod=12h (others are not supported)")
	fs.BoolVarP(&o.info, "info", "I", false, "print all information about this proxy")
	fs.StringArrayVarP(&o.items, "infoitem", "i", nil, "print selected information about this proxy")
	fs.BoolVarP(&o.remove, "remove", "r", false, "remove proxy")
	fs.StringArrayVarP(&o.voms, "voms", "S", nil, "VOMS attributes (not supported by cesub)")
	o.addCommon(fs)
	if code, ok := s.parse(fs, &o.common, args); !ok {
		return code
	}
	if o.path == "" {
		o.path = s.f.ProxyPath()
	}
	switch {
	case len(o.voms) > 0:
		s.errorf("VOMS attributes (-S) are not supported by cesub: use a bearer token for VO membership")
		return 1
	case o.remove:
		if err := os.Remove(o.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.errorf("Failed to remove proxy file %s: %v", o.path, err)
			return 1
		}
		return 0
	case o.info || len(o.items) > 0:
		return s.proxyInfo(o)
	}
	return s.makeProxy(o)
}

// proxyInfo is -I (every line) and -i ITEM (one value a line).
func (s *session) proxyInfo(o proxyOptions) int {
	c, err := x509proxy.LoadProxy(o.path)
	if err != nil {
		s.errorf("Cannot find file at %s for getting the proxy. Please make sure this file exists.", o.path)
		return 1
	}
	now := s.f.Now()
	if o.info {
		for _, l := range [][2]string{{"Subject", x509proxy.GridName(c.Cert.RawSubject)}, {"Issuer", x509proxy.GridName(c.Cert.RawIssuer)},
			{"Identity", c.Identity()}, {"Time left for proxy", arcDuration(c.TimeLeft(now))}, {"Proxy path", o.path},
			{"Proxy type", arcProxyType(c.Kind())}, {"Proxy key length", fmt.Sprint(keyBits(c))},
			{"Proxy signature", signature(c)}} {
			fmt.Fprintf(s.f.IO.Out, "%s: %s\n", l[0], l[1])
		}
		return 0
	}
	for _, item := range o.items {
		v, ok := proxyItem(c, item, o.path, now)
		if !ok {
			s.errorf("Information item '%s' is not known", item)
			return 1
		}
		fmt.Fprintln(s.f.IO.Out, v)
	}
	return 0
}

// proxyItem is one -i value as arcproxy prints it.
func proxyItem(c *x509proxy.Credential, item, path string, now time.Time) (string, bool) {
	left := c.TimeLeft(now) / time.Second
	if left < 0 {
		left = 0
	}
	switch item {
	case "subject":
		return x509proxy.GridName(c.Cert.RawSubject), true
	case "identity":
		return c.Identity(), true
	case "issuer":
		return x509proxy.GridName(c.Cert.RawIssuer), true
	case "path":
		return path, true
	case "type":
		return arcProxyType(c.Kind()), true
	case "validityStart":
		return fmt.Sprint(c.Cert.NotBefore.Unix()), true
	case "validityEnd":
		return fmt.Sprint(c.NotAfter().Unix()), true
	case "validityPeriod":
		return fmt.Sprint(int64(c.Cert.NotAfter.Sub(c.Cert.NotBefore) / time.Second)), true
	case "validityLeft":
		return fmt.Sprint(int64(left)), true
	case "strength":
		return fmt.Sprint(keyBits(c)), true
	}
	return "", false
}

// makeProxy creates a proxy from the user certificate (arcproxy without
// -I, -i, -r), for the time -c validityPeriod= asks (default 12 hours).
func (s *session) makeProxy(o proxyOptions) int {
	lifetime, err := validityPeriod(o.constraints)
	if err != nil {
		s.errorf("%v", err)
		return 1
	}
	cert, key := s.f.UserCertPaths()
	if o.cert != "" {
		cert = o.cert
	}
	if o.key != "" {
		key = o.key
	}
	user, err := x509proxy.LoadUserCredential(cert, key, func(what string) ([]byte, error) {
		return nil, fmt.Errorf("%s is encrypted: cesub's arcproxy reads no passphrase; use `cesub proxy init`", what)
	})
	if err != nil {
		s.errorf("%v", err)
		return 1
	}
	proxy, err := x509proxy.NewProxy(user, x509proxy.Options{Lifetime: lifetime, Now: s.f.Now})
	if err == nil {
		err = x509proxy.WriteFile(o.path, proxy)
	}
	if err != nil {
		s.errorf("Proxy generation failed: %v", err)
		return 1
	}
	fmt.Fprintf(s.f.IO.Out, "Your identity: %s\nProxy generation succeeded\nYour proxy is valid until: %s\n",
		user.Identity(), proxy.NotAfter().Local().Format("2006-01-02 15:04:05"))
	return 0
}

// validityPeriod reads -c validityPeriod=… (12h, 43200, 1d, 30m…).
func validityPeriod(constraints []string) (time.Duration, error) {
	d := 12 * time.Hour
	for _, c := range constraints {
		k, v, _ := strings.Cut(c, "=")
		if k != "validityPeriod" {
			return 0, fmt.Errorf("proxy constraint %q is not supported by cesub (only validityPeriod)", c)
		}
		v = strings.TrimSpace(v)
		if days, ok := strings.CutSuffix(v, "d"); ok {
			v = days + "h"
			if n, err := time.ParseDuration(v); err == nil {
				d = n * 24
				continue
			}
		}
		if n, err := time.ParseDuration(v); err == nil {
			d = n
		} else if secs, err := time.ParseDuration(v + "s"); err == nil {
			d = secs
		} else {
			return 0, fmt.Errorf("validityPeriod %q: want a period such as 12h or 43200", v)
		}
	}
	return d, nil
}

// arcDuration is a time left as arcproxy writes it: "11 hours 44 minutes 9 seconds".
func arcDuration(d time.Duration) string {
	if d <= 0 {
		return "0 seconds"
	}
	var parts []string
	for _, u := range []struct {
		name string
		size time.Duration
	}{{"day", 24 * time.Hour}, {"hour", time.Hour}, {"minute", time.Minute}, {"second", time.Second}} {
		if n := d / u.size; n > 0 {
			name := u.name
			if n > 1 {
				name += "s"
			}
			parts = append(parts, fmt.Sprintf("%d %s", n, name))
			d -= n * u.size
		}
	}
	return strings.Join(parts, " ")
}

// arcProxyType names a proxy kind as arcproxy does.
func arcProxyType(k x509proxy.Kind) string {
	switch k {
	case x509proxy.RFC3820:
		return "X.509 Proxy Certificate Profile RFC compliant impersonation proxy - RFC inheritAll proxy"
	case x509proxy.RFC3820Limit:
		return "X.509 Proxy Certificate Profile RFC compliant limited proxy"
	case x509proxy.RFC3820Indep:
		return "X.509 Proxy Certificate Profile RFC compliant independent proxy"
	case x509proxy.LegacyProxy, x509proxy.LegacyLimited:
		return "Legacy Globus impersonation proxy"
	}
	return string(k)
}

func keyBits(c *x509proxy.Credential) int {
	if k, ok := c.Cert.PublicKey.(*rsa.PublicKey); ok {
		return k.N.BitLen()
	}
	return 0
}

// signature is the proxy's signature hash as arcproxy names it (sha256).
func signature(c *x509proxy.Credential) string {
	name := strings.ToLower(c.Cert.SignatureAlgorithm.String()) // SHA256-RSA
	hash, _, _ := strings.Cut(name, "-")
	return hash
}
