package config

import "time"

// The declared settings. Commands read them only through these keys.
var (
	Output = declare[string](Param{Name: "output", Short: "o", Kind: String, Default: "text",
		Help: "output format: text or json (submit: also jsonl, a line per job as it is accepted; test: also markdown)"})
	Debug = declare[bool](Param{Name: "debug", Kind: Bool, Default: false,
		Help: "print protocol-level debug output to stderr, each line with the seconds since the command started (secrets are always redacted)"})
	Timeout = declare[time.Duration](Param{Name: "timeout", Kind: Duration, Default: 20 * time.Second, Positive: true,
		Help: "time limit for each network operation; for file transfers, the longest time without progress (30s, 2m, or a number of seconds; more than zero)", ClientConf: "timeout"})
	CADir = declare[string](Param{Name: "ca-dir", Kind: String, Default: "/etc/grid-security/certificates",
		Help:    "grid CA directory (*.0, *.pem), used with the system roots",
		GridEnv: []string{"X509_CERT_DIR"}, ClientConf: "cacertificatesdirectory"})
	Insecure = declare[bool](Param{Name: "insecure", Kind: Bool, Default: false,
		Help: "do not verify TLS certificates (warns on every use; tests only)"})
	ProxyPath = declare[string](Param{Name: "proxy", Kind: String, Default: "",
		Help: "X.509 proxy file (default /tmp/x509up_u<uid>)", GridEnv: []string{"X509_USER_PROXY"}, ClientConf: "proxypath"})
	CertPath = declare[string](Param{Name: "cert", Kind: String, Default: "",
		Help: "user certificate (default ~/.globus/usercert.pem)", GridEnv: []string{"X509_USER_CERT"}, ClientConf: "certificatepath"})
	KeyPath = declare[string](Param{Name: "key", Kind: String, Default: "",
		Help: "user key (default ~/.globus/userkey.pem)", GridEnv: []string{"X509_USER_KEY"}, ClientConf: "keypath"})

	Auth = declare[string](Param{Name: "auth", Kind: String, Default: "auto",
		Help: "credential shown to CEs: auto (the bearer token when one is found, else the X.509 proxy), token, x509"})

	JobList = declare[string](Param{Name: "joblist", Short: "j", Kind: String, Default: "",
		Help: "job list: an SQLite file (default $XDG_DATA_HOME/cesub/jobs.db) or a PostgreSQL server shared by many hosts (postgres://… or libpq keywords)"})
	TokenFile = declare[string](Param{Name: "token-file", Kind: String, Default: "",
		Help: "read the bearer token from this file instead of token discovery"})
	OIDCAgent = declare[string](Param{Name: "oidc-agent", Kind: String, Default: "",
		Help: "fetch tokens from this oidc-agent account (by short name); job commands ask for one per CE audience and refresh it during long runs"})
	ClientCredentials = declare[bool](Param{Name: "client-credentials", Kind: Bool, Default: false,
		Help: "fetch tokens with the OAuth2 client-credentials grant (--issuer, --client-id, the secret); refreshed during long runs"})
	TokenScope = declare[[]string](Param{Name: "token-scope", Kind: StringSlice,
		Default: []string{"compute.create", "compute.read", "compute.modify", "compute.cancel"},
		Help:    "scopes job commands ask for with --oidc-agent or --client-credentials"})
	TokenAudience = declare[string](Param{Name: "token-audience", Kind: String, Default: "",
		Help: "audience job commands ask for with --oidc-agent or --client-credentials (default: each CE's own, https://host:port for ARC, host:port for HTCondor-CE)"})
	Endpoints = declare[string](Param{Name: "endpoints", Short: "E", Kind: String, Default: "",
		Help: "endpoint file (YAML, docs/endpoints.md): the CEs it lists get its token source and audience; submit without -C submits to its CEs, test tests them"})
	CondorConfig = declare[[]string](Param{Name: "condor-config", Kind: StringSlice,
		Help: "HTCondor configuration `files` whose submit templates (SUBMIT_TEMPLATE_NAMES, SUBMIT_TEMPLATE_<Name>) 'use template :' may name (default: those condor_submit reads: $CONDOR_CONFIG or /etc/condor/condor_config, its config.d, ~/.condor/user_config)"})
	OIDCSock = declare[string](Param{Name: "oidc-sock", Kind: String, Default: "",
		Help: "oidc-agent socket", GridEnv: []string{"OIDC_SOCK"}})
	Issuer = declare[string](Param{Name: "issuer", Kind: String, Default: "",
		Help: "OAuth2 issuer URL for the client-credentials grant (discovery via /.well-known/openid-configuration)"})
	ClientID = declare[string](Param{Name: "client-id", Kind: String, Default: "",
		Help: "OAuth2 client id for the client-credentials grant"})
	ClientSecretFile = declare[string](Param{Name: "client-secret-file", Kind: String, Default: "",
		Help: "file holding the OAuth2 client secret (or set CESUB_CLIENT_SECRET)"})
	ClientSecret = declare[string](Param{Name: "client-secret", Kind: String, Default: "", NoFlag: true,
		Help: "OAuth2 client secret; environment or config file only, never a flag (it would show in ps)"})
)

var registry []*Param

func declare[T any](p Param) Key[T] {
	pp := &p
	registry = append(registry, pp)
	return Key[T]{p: pp}
}

// All lists every declared parameter, in declaration order.
func All() []*Param { return registry }

// Lookup finds a parameter by name.
func Lookup(name string) *Param {
	for _, p := range registry {
		if p.Name == name {
			return p
		}
	}
	return nil
}
