package cmdutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cesub/cesub/internal/config"
	"github.com/cesub/cesub/pkg/x509proxy"
)

// ProxyPath is the proxy file: --proxy / X509_USER_PROXY / client.conf, else /tmp/x509up_u<uid>.
func (f *Factory) ProxyPath() string {
	if p := config.Get(f.Config, config.ProxyPath); p != "" {
		return p
	}
	return x509proxy.DefaultPath(func(string) string { return "" }, f.Env.EUID)
}

// UserCertPaths are the user certificate and key: flags / X509_USER_CERT,
// X509_USER_KEY / client.conf, else ~/.globus/usercert.pem and userkey.pem
// (or ~/.globus/usercred.p12 when only that exists).
func (f *Factory) UserCertPaths() (cert, key string) {
	cert, key = config.Get(f.Config, config.CertPath), config.Get(f.Config, config.KeyPath)
	home := f.Env.Getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	globus := filepath.Join(home, ".globus")
	if cert == "" {
		cert = filepath.Join(globus, "usercert.pem")
		if _, err := os.Stat(cert); errors.Is(err, fs.ErrNotExist) {
			if _, err := os.Stat(filepath.Join(globus, "usercred.p12")); err == nil {
				cert = filepath.Join(globus, "usercred.p12")
			}
		}
	}
	if key == "" {
		key = filepath.Join(globus, "userkey.pem")
	}
	return cert, key
}

// Proxy loads and checks the proxy for CE calls. A missing, broken or
// expired proxy is an authentication error (exit 4) saying how to fix it.
func (f *Factory) Proxy() (*x509proxy.Credential, error) {
	f.proxyOnce.Do(func() { f.proxy, f.proxyErr = f.loadProxy() })
	return f.proxy, f.proxyErr
}

func (f *Factory) loadProxy() (*x509proxy.Credential, error) {
	path := f.ProxyPath()
	cred, err := x509proxy.LoadProxy(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, AuthError(fmt.Errorf("no X.509 proxy at %s (make one with `cesub proxy init`)", path))
	}
	if err != nil {
		return nil, AuthError(err)
	}
	var exp *x509proxy.ExpiredError
	if err := cred.Verify(f.Now()); errors.As(err, &exp) {
		return nil, AuthError(fmt.Errorf("proxy %s: %w; renew it with `cesub proxy init`", path, err))
	} else if err != nil {
		return nil, AuthError(fmt.Errorf("proxy %s: %w", path, err))
	}
	f.warnLoose(path, "proxy", "its key lets anyone act as you")
	if pem, err := os.ReadFile(path); err == nil {
		f.IO.Secrets().AddPEM(pem) // a server quoting it prints no key
	}
	f.Infof("using the X.509 proxy %s (%s)", path, cred.Identity())
	return cred, nil
}

// warnLoose warns when a credential file can be read or written by other
// users (the job list, a proxy); cesub makes its own files 0600.
func (f *Factory) warnLoose(path, what, why string) {
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		f.Warnf("%s %s has mode %04o: other users may read it (%s); chmod 600 %s", what, path, st.Mode().Perm(), why, path)
	}
}
