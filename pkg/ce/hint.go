package ce

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"syscall"
	"time"
)

// ConnectHint explains the usual network and TLS failures ("" for other
// errors); hostPort names the CE in it (may be empty).
func ConnectHint(err error, hostPort string) string {
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ie x509.CertificateInvalidError
	var oe *net.OpError
	switch {
	case errors.As(err, &ua):
		return "the CE's certificate is signed by a CA that is not trusted here: install the CA (the IGTF bundle " +
			"in /etc/grid-security/certificates) or point --ca-dir / X509_CERT_DIR at it"
	case errors.As(err, &he):
		var names []string
		for _, n := range append(he.Certificate.DNSNames, he.Certificate.Subject.CommonName) {
			if n != "" && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		return fmt.Sprintf("the CE's certificate is for %s, not for the name you used (%s): use the CE's real host name",
			strings.Join(names, ", "), he.Host)
	case errors.As(err, &ie):
		if ie.Reason == x509.Expired {
			return "the CE's certificate has expired (or this machine's clock is wrong)"
		}
		return "the CE's certificate is not valid for TLS server use"
	case errors.Is(err, syscall.ECONNREFUSED):
		where := "there"
		if hostPort != "" {
			where = "on " + hostPort
		}
		return "nothing listens " + where + ": the CE is down or the port is wrong (A-REX: 443 or 8443, HTCondor-CE: 9619)"
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &oe) && oe.Timeout():
		return "no answer in time: a firewall may drop the traffic, or the CE is overloaded (raise --timeout to wait longer)"
	case strings.Contains(err.Error(), "no such host"):
		return "the host name does not resolve"
	case strings.Contains(err.Error(), "first record does not look like a TLS handshake"):
		return "the port speaks plain HTTP, not HTTPS"
	}
	return ""
}

// MaybeCreatedError is a submission that failed after its request reached
// the CE (a reset, a truncated or unreadable answer, an interruption): the
// CE may have created some or all of the jobs without cesub learning their
// ids. `cesub sync` lists the CE's jobs and records those missing.
type MaybeCreatedError struct {
	CE  string // the CE's address, as -C takes it
	Err error
}

func (e *MaybeCreatedError) Error() string {
	return fmt.Sprintf("%v; the CE may have created the jobs anyway: `cesub sync -C %s` adds them to the job list (check it before submitting again)", e.Err, e.CE)
}

func (e *MaybeCreatedError) Unwrap() error { return e.Err }

// MayExist wraps err, the failure of a submit request, in a
// MaybeCreatedError unless it provably happened before the request was sent
// (dialing, the TLS handshake, a token that could not be had) or is one
// already.
func MayExist(ceAddr string, err error) error {
	var mc *MaybeCreatedError
	if err == nil || errors.As(err, &mc) || IsAuthFailure(err) || NotSent(err) {
		return err
	}
	return &MaybeCreatedError{CE: ceAddr, Err: err}
}

// StopLookup bounds the look for what a submit request created when the
// caller stopped it (Ctrl-C, SIGTERM): the user wants the process gone
// within seconds, even from a CE that does not answer.
const StopLookup = 500 * time.Millisecond

// LookupContext is the context for finding out what an unanswered submit
// request created: ctx without its cancellation (what exists must be
// known), but only StopLookup long when ctx was already cancelled.
func LookupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Err() != nil {
		return context.WithTimeout(context.WithoutCancel(ctx), StopLookup)
	}
	return context.WithCancel(context.WithoutCancel(ctx))
}

// NotSent reports errors that happen before a byte of a request is
// written: dialing and the TLS handshake.
func NotSent(err error) bool {
	var oe *net.OpError
	var rh tls.RecordHeaderError
	if errors.As(err, &oe) && oe.Op == "dial" || errors.As(err, &rh) {
		return true
	}
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ie x509.CertificateInvalidError
	s := err.Error()
	return errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ie) ||
		strings.Contains(s, "tls: handshake failure") || strings.Contains(s, "remote error: tls") ||
		strings.Contains(s, "first record does not look like a TLS handshake") || strings.Contains(s, "failed to verify certificate")
}

// AuthFailer is implemented by errors that are an authentication or
// authorization failure (exit 4): a CE or issuer refusing the credential,
// a credential that cannot be had.
type AuthFailer interface{ AuthFailure() bool }

// IsAuthFailure reports whether err (or an error it wraps) is one.
func IsAuthFailure(err error) bool {
	var af AuthFailer
	return errors.As(err, &af) && af.AuthFailure()
}

// InputError is a job's local input file that cannot be sent (missing,
// unreadable, not a regular file), found before anything was submitted:
// the description's fault, reported as bad input (exit 2), not as a CE's.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// IsInputError reports whether err is (or wraps) an InputError.
func IsInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}
