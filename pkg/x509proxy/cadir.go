package x509proxy

import (
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// CertPool is the system roots plus every certificate in the grid CA
// directory (*.0 … *.9 hash links and *.pem files; keys and other PEM
// blocks are skipped). A missing directory is not an error: the system
// roots remain. The count is the number of files that added a certificate.
// Clients should prefer LoadRoots, which reads the system roots only when
// needed.
func CertPool(dir string) (*x509.CertPool, int, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	n, err := appendCAFiles(pool, dir)
	if err != nil {
		return nil, 0, err
	}
	return pool, n, nil
}

func gridPool(dir string) (*x509.CertPool, int, error) {
	pool := x509.NewCertPool()
	n, err := appendCAFiles(pool, dir)
	return pool, n, err
}

func appendCAFiles(pool *x509.CertPool, dir string) (int, error) {
	if dir == "" {
		return 0, nil
	}
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("CA directory %s: %w", dir, err)
	}
	n := 0
	for _, e := range entries {
		if !isCAFile(e.Name()) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // dangling links and unreadable files are common in CA dirs
		}
		if pool.AppendCertsFromPEM(b) {
			n++
		}
	}
	return n, nil
}

func isCAFile(name string) bool {
	if strings.HasSuffix(name, "-key.pem") || strings.HasSuffix(name, ".key.pem") {
		return false
	}
	if strings.HasSuffix(name, ".pem") {
		return true
	}
	// OpenSSL hash links: 8 hex digits, a dot, a small integer.
	dot := strings.LastIndexByte(name, '.')
	if dot != 8 || len(name) < 10 {
		return false
	}
	for _, c := range name[:8] {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	for _, c := range name[9:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
