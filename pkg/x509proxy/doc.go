// Package x509proxy owns X.509 grid credentials: loading a user certificate
// and key (PEM, legacy encrypted PEM, PKCS#8 plain or encrypted, PKCS#12),
// making RFC 3820 proxy certificates, reading proxy files, signing the
// certificate requests a CE hands out for delegation, and loading the grid
// CA directory for TLS.
//
// A Credential is a certificate, its private key and the chain of
// certificates that issued it (for a proxy: the user certificate and any
// proxies in between). Proxy files use the Globus layout every grid tool
// reads: proxy certificate, its key (PKCS#1), then the issuing chain.
package x509proxy
