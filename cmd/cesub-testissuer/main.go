// Command cesub-testissuer runs cesub's loopback-only test token issuer and
// mints test tokens. It is testbed infrastructure (scripts/testbed/issuer).
//
//	cesub-testissuer genkey -key FILE [-type ec|rsa]
//	cesub-testissuer serve -issuer URL -listen ADDR[,ADDR] -cert F -key-file F -signkey F -client ID:SECRET[:scopes]
//	cesub-testissuer mint -signkey F -issuer URL [-aud A,B] [-scope S] [-groups G] [-lifetime D] ...
//	cesub-testissuer mint-rt -signkey F -client-id ID -sub S -scope S
//	cesub-testissuer device -issuer URL -admin-secret-file F -user-code CODE -state approved|denied|expired|slow_down [-ca F]
//	cesub-testissuer agent-probe -sock PATH   (lists oidc-agent's loaded accounts; readiness probe)
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"github.com/cesub/cesub/internal/tcpopt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/cesub/cesub/internal/testissuer"
	"github.com/cesub/cesub/pkg/token"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: cesub-testissuer genkey|serve|mint|mint-rt|device|agent-probe [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "genkey":
		err = genkey(os.Args[2:])
	case "serve":
		err = serve(os.Args[2:])
	case "mint":
		err = mint(os.Args[2:])
	case "mint-rt":
		err = mintRT(os.Args[2:])
	case "device":
		err = device(os.Args[2:])
	case "agent-probe":
		err = agentProbe(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cesub-testissuer:", err)
		os.Exit(1)
	}
}

func genkey(args []string) error {
	fs := flag.NewFlagSet("genkey", flag.ExitOnError)
	path := fs.String("key", "", "signing key file to write (PKCS#8 PEM, 0600)")
	kind := fs.String("type", "ec", "ec (ES256) or rsa (RS256)")
	_ = fs.Parse(args)
	k, err := testissuer.GenerateKey(*kind)
	if err != nil {
		return err
	}
	return k.WriteKeyFile(*path)
}

func list(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		out = append(out, f)
	}
	return out
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	issuer := fs.String("issuer", "https://localhost:8443", "issuer URL (iss claim), no trailing slash")
	listen := fs.String("listen", "127.0.0.1:8443", "comma-separated loopback listen addresses")
	cert := fs.String("cert", "", "TLS certificate (PEM)")
	keyFile := fs.String("key-file", "", "TLS key (PEM)")
	signkey := fs.String("signkey", "", "token signing key (from genkey)")
	var clients multi
	fs.Var(&clients, "client", "ID:SECRET[:LIFETIME] of a registered client (repeatable; LIFETIME overrides -lifetime for its tokens; an empty SECRET is a public client: device logins and refresh only)")
	adminSecretFile := fs.String("admin-secret-file", "", "enables POST /admin/device (approve/deny/expire device logins) for requests bearing this file's secret")
	deviceInterval := fs.Duration("device-interval", 5*time.Second, "polling interval device logins are given")
	clientScopes := fs.String("client-scopes", "", "scopes clients may request (space-separated; empty: any)")
	clientSub := fs.String("client-sub", "", "sub of client_credentials tokens (default client:<ID>)")
	clientGroups := fs.String("client-groups", "", "wlcg.groups of client_credentials tokens (comma-separated)")
	lifetime := fs.Duration("lifetime", 20*time.Minute, "access token lifetime")
	defAud := fs.String("default-aud", testissuer.AnyAudience, "audience when none is requested (comma-separated)")
	quiet := fs.Bool("quiet", false, "no request log")
	_ = fs.Parse(args)

	k, err := testissuer.LoadKeyFile(*signkey)
	if err != nil {
		return err
	}
	srv := &testissuer.Server{Issuer: strings.TrimSuffix(*issuer, "/"), Key: k, Lifetime: *lifetime, DefaultAud: list(*defAud),
		DeviceInterval: *deviceInterval}
	if *adminSecretFile != "" {
		b, err := os.ReadFile(*adminSecretFile)
		if err != nil {
			return fmt.Errorf("admin secret: %w", err)
		}
		if srv.AdminSecret = strings.TrimSpace(string(b)); srv.AdminSecret == "" {
			return fmt.Errorf("admin secret file %s is empty", *adminSecretFile)
		}
	}
	if !*quiet {
		srv.Logger = log.New(os.Stderr, "", log.LstdFlags)
	}
	for _, c := range clients {
		id, secret, ok := strings.Cut(c, ":")
		if !ok || id == "" {
			return fmt.Errorf("-client %q: want ID:SECRET[:LIFETIME]", c)
		}
		var life time.Duration
		if s, l, ok := strings.Cut(secret, ":"); ok {
			d, err := time.ParseDuration(l)
			if err != nil || d <= 0 {
				return fmt.Errorf("-client %s: lifetime %q: want a positive duration", id, l)
			}
			secret, life = s, d
		}
		srv.Clients = append(srv.Clients, testissuer.Client{ID: id, Secret: secret, Scopes: strings.Fields(*clientScopes),
			Subject: *clientSub, Groups: list(*clientGroups), Lifetime: life})
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 4)
	for _, addr := range list(*listen) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("listen address %q: %w", addr, err)
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("listen address %q is not a loopback IP: the test issuer serves loopback only", addr)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		go func() { errc <- hs.ServeTLS(tcpopt.Listener{Listener: ln}, *cert, *keyFile) }()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case err := <-errc:
		return err
	case <-sig:
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := hs.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func mint(args []string) error {
	fs := flag.NewFlagSet("mint", flag.ExitOnError)
	signkey := fs.String("signkey", "", "token signing key")
	issuer := fs.String("issuer", "https://localhost:8443", "iss claim (a trailing slash is kept)")
	sub := fs.String("sub", "cesub-test-user", "sub claim")
	aud := fs.String("aud", "", "audience(s), comma-separated; one -> string, several -> array; empty -> WLCG any")
	scope := fs.String("scope", "compute.create compute.read compute.modify compute.cancel", "scope claim")
	scopeArray := fs.Bool("scope-array", false, "render scope as a JSON array")
	groups := fs.String("groups", "/wlcg/pilots", "wlcg.groups, comma-separated (empty: none)")
	lifetime := fs.Duration("lifetime", time.Hour, "lifetime (negative: already expired)")
	nbf := fs.Duration("nbf-offset", 0, "nbf relative to now")
	noExp := fs.Bool("no-exp", false, "omit exp")
	ver := fs.String("ver", "1.0", "wlcg.ver ('-' omits it)")
	kid := fs.String("kid", "", "header kid override")
	_ = fs.Parse(args)
	k, err := testissuer.LoadKeyFile(*signkey)
	if err != nil {
		return err
	}
	tok, err := k.Mint(testissuer.Claims{Issuer: *issuer, Subject: *sub, Audience: list(*aud), Scope: *scope,
		ScopeArray: *scopeArray, Groups: list(*groups), Lifetime: *lifetime, NotBefore: *nbf, NoExp: *noExp,
		Version: *ver, KID: *kid})
	if err != nil {
		return err
	}
	fmt.Println(tok)
	return nil
}

func mintRT(args []string) error {
	fs := flag.NewFlagSet("mint-rt", flag.ExitOnError)
	signkey := fs.String("signkey", "", "token signing key")
	clientID := fs.String("client-id", "", "client the refresh token is bound to")
	sub := fs.String("sub", "cesub-test-user", "subject")
	scope := fs.String("scope", "openid offline_access compute.create compute.read compute.modify compute.cancel", "granted scope")
	groups := fs.String("groups", "/wlcg/pilots", "wlcg.groups, comma-separated")
	life := fs.Duration("lifetime", 30*24*time.Hour, "refresh token lifetime")
	_ = fs.Parse(args)
	k, err := testissuer.LoadKeyFile(*signkey)
	if err != nil {
		return err
	}
	rt, err := k.MintRefreshToken(*clientID, *sub, *scope, list(*groups), *life)
	if err != nil {
		return err
	}
	fmt.Println(rt)
	return nil
}

// device plays the user at the browser: it approves, denies or expires a
// pending device login (or makes the issuer answer its next poll slow_down).
func device(args []string) error {
	fs := flag.NewFlagSet("device", flag.ExitOnError)
	issuer := fs.String("issuer", "https://localhost:8443", "issuer URL")
	secretFile := fs.String("admin-secret-file", "", "the issuer's admin secret (serve -admin-secret-file)")
	userCode := fs.String("user-code", "", "the login's user code")
	state := fs.String("state", testissuer.DeviceApproved, "approved, denied, expired or slow_down")
	ca := fs.String("ca", "", "CA certificate (PEM) the issuer's TLS certificate is checked against (default: the system's)")
	_ = fs.Parse(args)
	b, err := os.ReadFile(*secretFile)
	if err != nil {
		return fmt.Errorf("admin secret: %w", err)
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	if *ca != "" {
		pem, err := os.ReadFile(*ca)
		if err != nil {
			return fmt.Errorf("CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("CA %s: no certificate", *ca)
		}
		hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	return testissuer.SetDeviceStateAt(context.Background(), hc, *issuer, strings.TrimSpace(string(b)), *userCode, *state)
}

func agentProbe(args []string) error {
	fs := flag.NewFlagSet("agent-probe", flag.ExitOnError)
	sock := fs.String("sock", os.Getenv("OIDC_SOCK"), "oidc-agent socket")
	timeout := fs.Duration("timeout", time.Second, "time limit")
	_ = fs.Parse(args)
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	acc, err := (&token.AgentClient{Socket: *sock}).LoadedAccounts(ctx)
	if err != nil {
		return err
	}
	fmt.Println(strings.Join(acc, " "))
	return nil
}
