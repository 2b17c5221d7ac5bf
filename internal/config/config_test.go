package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPrecedence(t *testing.T) {
	home := t.TempDir()
	xdg := filepath.Join(home, "xdg")
	write(t, filepath.Join(home, ".arc", "client.conf"), "[common]\ntimeout = 45\ncacertificatesdirectory = /from/clientconf\nproxypath=/cc/proxy\n")
	vars := map[string]string{"XDG_CONFIG_HOME": xdg}
	getenv := func(k string) string { return vars[k] }
	load := func(flags ...string) *Config {
		t.Helper()
		c, err := Load(Options{Getenv: getenv, Home: home})
		if err != nil {
			t.Fatal(err)
		}
		fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
		AddFlag(fs, Timeout)
		AddFlag(fs, CADir)
		if err := fs.Parse(flags); err != nil {
			t.Fatal(err)
		}
		c.BindFlags(fs)
		return c
	}
	// client.conf gives defaults (timeout in seconds)
	c := load()
	if Get(c, Timeout) != 45*time.Second || Get(c, CADir) != "/from/clientconf" || Get(c, ProxyPath) != "/cc/proxy" {
		t.Fatalf("client.conf defaults: %v %q %q", Get(c, Timeout), Get(c, CADir), Get(c, ProxyPath))
	}
	// a grid variable beats client.conf
	vars["X509_CERT_DIR"] = "/from/x509env"
	vars["X509_USER_PROXY"] = "/env/proxy"
	if c = load(); Get(c, CADir) != "/from/x509env" || Get(c, ProxyPath) != "/env/proxy" {
		t.Fatalf("X509_CERT_DIR: %q", Get(c, CADir))
	}
	// the config file beats defaults
	write(t, filepath.Join(xdg, "cesub", "config.yaml"), "timeout: 7s\nca-dir: /from/file\n")
	if c = load(); Get(c, Timeout) != 7*time.Second || Get(c, CADir) != "/from/file" || c.FileUsed() == "" {
		t.Fatalf("config file: %v %q", Get(c, Timeout), Get(c, CADir))
	}
	// CESUB_* beats the file
	vars["CESUB_TIMEOUT"] = "9s"
	if c = load(); Get(c, Timeout) != 9*time.Second || Get(c, CADir) != "/from/file" {
		t.Fatalf("env: %v", Get(c, Timeout))
	}
	if c.Source(Timeout.Param()) != "CESUB_TIMEOUT" {
		t.Errorf("source = %q", c.Source(Timeout.Param()))
	}
	// flags beat everything
	if c = load("--timeout", "3s", "--ca-dir", "/flag"); Get(c, Timeout) != 3*time.Second || Get(c, CADir) != "/flag" {
		t.Fatalf("flags: %v %q", Get(c, Timeout), Get(c, CADir))
	}
}

func TestBuiltinDefaultsAndErrors(t *testing.T) {
	home := t.TempDir()
	c, err := Load(Options{Getenv: func(string) string { return "" }, Home: home})
	if err != nil {
		t.Fatal(err)
	}
	if Get(c, Timeout) != 20*time.Second || Get(c, CADir) != "/etc/grid-security/certificates" || Get(c, Output) != "text" {
		t.Fatalf("defaults: %v %q %q", Get(c, Timeout), Get(c, CADir), Get(c, Output))
	}
	if _, err := Load(Options{ConfigFile: filepath.Join(home, "missing.yaml"), Home: home}); err == nil {
		t.Error("an explicit missing --config must fail")
	}
	bad := filepath.Join(home, "bad.yaml")
	write(t, bad, "timeout: [1,\n")
	if _, err := Load(Options{ConfigFile: bad, Home: home}); err == nil {
		t.Error("a malformed config file must fail")
	}
}

func TestEveryParamDeclaredOnce(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range All() {
		if seen[p.Name] {
			t.Errorf("%s declared twice", p.Name)
		}
		seen[p.Name] = true
		if p.Help == "" {
			t.Errorf("%s has no help", p.Name)
		}
		if Lookup(p.Name) != p {
			t.Errorf("Lookup(%s) broken", p.Name)
		}
	}
}

// TestTimeoutBareNumberIsSeconds: `timeout: 30` in the config file or
// CESUB_TIMEOUT=30 is 30 seconds (viper read it as 30 ns); zero, negative
// and garbage are refused naming where they came from.
func TestTimeoutBareNumberIsSeconds(t *testing.T) {
	home := t.TempDir()
	xdg := filepath.Join(home, "xdg")
	vars := map[string]string{"XDG_CONFIG_HOME": xdg}
	load := func(flags ...string) (*Config, error) {
		c, err := Load(Options{Getenv: func(k string) string { return vars[k] }, Home: home})
		if err != nil {
			return nil, err
		}
		fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
		AddFlag(fs, Timeout)
		if err := fs.Parse(flags); err != nil {
			return nil, err
		}
		c.BindFlags(fs)
		return c, c.Validate()
	}
	write(t, filepath.Join(xdg, "cesub", "config.yaml"), "timeout: 30\n")
	if c, err := load(); err != nil || Get(c, Timeout) != 30*time.Second {
		t.Fatalf("config file timeout: 30 -> %v %v", Get(c, Timeout), err)
	}
	write(t, filepath.Join(xdg, "cesub", "config.yaml"), "timeout: 1.5\n")
	if c, err := load(); err != nil || Get(c, Timeout) != 1500*time.Millisecond {
		t.Fatalf("config file timeout: 1.5 -> %v %v", Get(c, Timeout), err)
	}
	vars["CESUB_TIMEOUT"] = "45"
	if c, err := load(); err != nil || Get(c, Timeout) != 45*time.Second {
		t.Fatalf("CESUB_TIMEOUT=45 -> %v %v", Get(c, Timeout), err)
	}
	if c, err := load("--timeout", "12"); err != nil || Get(c, Timeout) != 12*time.Second {
		t.Fatalf("--timeout 12 -> %v %v", Get(c, Timeout), err)
	}
	for _, tc := range []struct {
		env   string
		flags []string
		want  string
	}{
		{"0", nil, "timeout (from CESUB_TIMEOUT): 0s: it must be more than zero"},
		{"-5s", nil, "more than zero"},
		{"soon", nil, `timeout (from CESUB_TIMEOUT): "soon" is not a duration`},
		{"45", []string{"--timeout", "0"}, "timeout (from --timeout): 0s: it must be more than zero"},
		{"45", []string{"--timeout", "-1m"}, "more than zero"},
	} {
		vars["CESUB_TIMEOUT"] = tc.env
		if _, err := load(tc.flags...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CESUB_TIMEOUT=%s %v: got %v, want %q", tc.env, tc.flags, err, tc.want)
		}
	}
}

// TestHelpBackquoteNamesTheValue: pflag shows the first back-quoted part of
// a flag's help as the name of its value (`--condor-config use template :`
// was shown), so a back-quoted part is one word naming the value.
func TestHelpBackquoteNamesTheValue(t *testing.T) {
	word := regexp.MustCompile("^[a-z][a-z-]*$")
	for _, p := range All() {
		if p.NoFlag {
			continue
		}
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		fs.String(p.Name, "", p.Help)
		name, _ := pflag.UnquoteUsage(fs.Lookup(p.Name))
		if strings.Contains(p.Help, "`") && !word.MatchString(name) {
			t.Errorf("--%s shows %q as its value's name", p.Name, name)
		}
	}
}

// TestFileWarnings: a misspelt key in the config file and a client.conf
// value cesub cannot use are warned about, naming the file, the line and
// (for a key) the closest setting; known keys and values are not.
func TestFileWarnings(t *testing.T) {
	home := t.TempDir()
	xdg := filepath.Join(home, "xdg")
	write(t, filepath.Join(xdg, "cesub", "config.yaml"), "timeout: 30s\noutptu: json\nca-dir: /x\nzzzzzzzzzz: 1\n")
	write(t, filepath.Join(home, ".arc", "client.conf"), "[common]\nproxypath=/cc/proxy\ntimeout=abc\n[other]\ntimeout=1\n")
	c, err := Load(Options{Getenv: func(k string) string { return map[string]string{"XDG_CONFIG_HOME": xdg}[k] }, Home: home})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(c.Warnings(), "\n")
	for _, want := range []string{
		filepath.Join(xdg, "cesub", "config.yaml") + `:2: unknown key "outptu" is ignored (did you mean "output"?)`,
		filepath.Join(xdg, "cesub", "config.yaml") + `:4: unknown key "zzzzzzzzzz" is ignored` + "\n",
		filepath.Join(home, ".arc", "client.conf") + ":3: timeout=abc is not a number of seconds",
	} {
		if !strings.Contains(got+"\n", want) {
			t.Errorf("warnings lack %q:\n%s", want, got)
		}
	}
	if n := len(c.Warnings()); n != 3 {
		t.Errorf("%d warnings, want 3:\n%s", n, got)
	}
	if Get(c, Output) != "text" || Get(c, Timeout) != 30*time.Second {
		t.Errorf("output %q timeout %v: the known keys must still apply, the unknown not", Get(c, Output), Get(c, Timeout))
	}
}
