// Package config owns cesub's settings. Every setting is declared once in
// params.go (name, type, env var, default, help, ARC client.conf key) and read
// through a typed Key; resolution order is flag > CESUB_* environment >
// config file ($XDG_CONFIG_HOME/cesub/config.yaml or --config) > default,
// where a default may come from a grid environment variable (X509_CERT_DIR,
// X509_USER_PROXY, ...) or ARC's client.conf [common] section.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"gopkg.in/ini.v1"
)

// Kind is a setting's type.
type Kind int

// Setting kinds.
const (
	String Kind = iota
	Bool
	Duration
	StringSlice
)

// Param declares one setting.
type Param struct {
	Name       string   // flag name and config-file key
	Short      string   // one-letter flag, if any
	Kind       Kind     // value type
	Default    any      // built-in default
	Help       string   // flag and docs help
	GridEnv    []string // conventional variables that provide the default (X509_CERT_DIR, ...)
	ClientConf string   // ARC client.conf [common] key that provides the default
	NoFlag     bool     // environment/config only (secrets)
	Positive   bool     // a Duration that must be more than zero
}

// Env is the CESUB_* variable of a parameter.
func (p *Param) Env() string {
	return "CESUB_" + strings.ToUpper(strings.ReplaceAll(p.Name, "-", "_"))
}

// Key is a typed handle on a declared parameter.
type Key[T any] struct{ p *Param }

// Param returns the declaration.
func (k Key[T]) Param() *Param { return k.p }

// Config is the resolved settings of one cesub invocation.
type Config struct {
	v          *viper.Viper
	fileUsed   string
	clientConf string
	getenv     func(string) string
	flagged    map[string]bool // settings a flag set
	warnings   []string        // keys and values the files set that are ignored
}

// Options says where to read from.
type Options struct {
	ConfigFile string              // --config; "" means the default path if it exists
	Getenv     func(string) string // environment lookup (os.Getenv)
	Home       string              // home directory for ~/.arc/client.conf
}

// Load builds the configuration; flags are bound later with BindFlags.
func Load(o Options) (*Config, error) {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	v := viper.New()
	c := &Config{v: v, getenv: o.Getenv}
	cc, ccPath, ccWarnings, err := readClientConf(o)
	if err != nil {
		return nil, err
	}
	c.clientConf, c.warnings = ccPath, ccWarnings
	for _, p := range All() {
		def := p.Default
		if p.ClientConf != "" {
			if s, ok := cc[p.ClientConf]; ok && s != "" {
				if p.Kind == Duration {
					// client.conf times are seconds
					if n, err := strconv.Atoi(s); err == nil {
						def = time.Duration(n) * time.Second
					}
				} else {
					def = s
				}
			}
		}
		for _, e := range p.GridEnv {
			if s := o.Getenv(e); s != "" {
				def = s
				break
			}
		}
		v.SetDefault(p.Name, def)
	}
	path := o.ConfigFile
	explicit := path != ""
	if !explicit {
		path = DefaultConfigPath(o.Getenv, o.Home)
	}
	if path != "" {
		v.SetConfigFile(path)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			var pe *fs.PathError
			if explicit || !errors.As(err, &pe) {
				return nil, fmt.Errorf("config file %s: %w", path, err)
			}
		} else {
			c.fileUsed = path
			if src, err := os.ReadFile(path); err == nil {
				c.warnings = append(c.warnings, fileWarnings(path, src)...)
			}
		}
	}
	// CESUB_* beats the config file. They are read through o.Getenv (not
	// viper's AutomaticEnv) so tests can inject an environment; BindFlags
	// later overrides them in turn.
	for _, p := range All() {
		if val := o.Getenv(p.Env()); val != "" {
			v.Set(p.Name, val)
		}
	}
	return c, nil
}

// DefaultConfigPath is $XDG_CONFIG_HOME/cesub/config.yaml (~/.config/cesub/config.yaml).
func DefaultConfigPath(getenv func(string) string, home string) string {
	if d := getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "cesub", "config.yaml")
	}
	if home == "" {
		return ""
	}
	return filepath.Join(home, ".config", "cesub", "config.yaml")
}

func readClientConf(o Options) (map[string]string, string, []string, error) {
	out := map[string]string{}
	var warnings []string
	candidates := []string{"/etc/arc/client.conf"}
	if o.Home != "" {
		candidates = append(candidates, filepath.Join(o.Home, ".arc", "client.conf"))
	}
	used := ""
	for _, path := range candidates { // user file last: it overrides the system one
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		f, err := ini.LoadSources(ini.LoadOptions{Insensitive: true, IgnoreInlineComment: true, AllowBooleanKeys: true}, b)
		if err != nil {
			return nil, "", nil, fmt.Errorf("ARC client config %s: %w", path, err)
		}
		common := map[string]string{}
		for _, k := range f.Section("common").Keys() {
			common[k.Name()] = strings.Trim(k.String(), `"`)
			out[k.Name()] = common[k.Name()]
		}
		warnings = append(warnings, clientConfWarnings(path, b, common)...)
		used = path
	}
	return out, used, warnings, nil
}

// Warnings are what the config file and ARC's client.conf set that cesub
// ignores: unknown keys (with the closest setting), values it cannot use.
func (c *Config) Warnings() []string { return c.warnings }

// FileUsed is the config file read, if any.
func (c *Config) FileUsed() string { return c.fileUsed }

// ClientConfUsed is the ARC client.conf read, if any.
func (c *Config) ClientConfUsed() string { return c.clientConf }

// BindFlags makes every declared flag of fs that the user set override the other sources.
func (c *Config) BindFlags(fs *pflag.FlagSet) {
	fs.VisitAll(func(f *pflag.Flag) {
		if Lookup(f.Name) != nil && f.Changed {
			if c.flagged == nil {
				c.flagged = map[string]bool{}
			}
			c.flagged[f.Name] = true
			c.v.Set(f.Name, f.Value.String())
			if sv, ok := f.Value.(pflag.SliceValue); ok {
				c.v.Set(f.Name, sv.GetSlice())
			}
		}
	})
}

// Get returns a setting's value.
func Get[T any](c *Config, k Key[T]) T {
	var zero T
	var out any
	switch any(zero).(type) {
	case string:
		out = c.v.GetString(k.p.Name)
	case bool:
		out = c.v.GetBool(k.p.Name)
	case time.Duration:
		d, _ := ParseDuration(c.v.Get(k.p.Name)) // Validate has refused what does not parse
		out = d
	case []string:
		out = c.v.GetStringSlice(k.p.Name)
	default:
		panic("config: unsupported type for " + k.p.Name)
	}
	return out.(T)
}

// ParseDuration reads a duration setting: a Go duration ("30s", "2m"), or
// a bare number of seconds ("30", 30, 1.5) as ARC's client.conf writes
// them. (viper would read "30" as 30 nanoseconds.)
func ParseDuration(v any) (time.Duration, error) {
	switch x := v.(type) {
	case time.Duration:
		return x, nil
	case int:
		return time.Duration(x) * time.Second, nil
	case int64:
		return time.Duration(x) * time.Second, nil
	case float64:
		return time.Duration(x * float64(time.Second)), nil
	case string:
		t := strings.TrimSpace(x)
		if f, err := strconv.ParseFloat(t, 64); err == nil {
			return time.Duration(f * float64(time.Second)), nil
		}
		d, err := time.ParseDuration(t)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration: want e.g. 30s, 2m or a number of seconds", x)
		}
		return d, nil
	case nil:
		return 0, nil
	}
	return 0, fmt.Errorf("%v is not a duration: want e.g. 30s, 2m or a number of seconds", v)
}

// Validate checks the values every source gave, naming the source of a bad
// one: durations must parse (and be positive where declared so).
func (c *Config) Validate() error {
	for _, p := range All() {
		if p.Kind != Duration {
			continue
		}
		d, err := ParseDuration(c.v.Get(p.Name))
		if err == nil && p.Positive && d <= 0 {
			err = fmt.Errorf("%v: it must be more than zero", d)
		}
		if err != nil {
			return fmt.Errorf("%s (from %s): %w", p.Name, c.Source(p), err)
		}
	}
	return nil
}

// Source says where a setting's value came from, for `--debug`.
func (c *Config) Source(p *Param) string {
	switch {
	case c.flagged[p.Name]:
		return "--" + p.Name
	case c.getenv(p.Env()) != "":
		return p.Env()
	case c.v.InConfig(p.Name):
		return c.fileUsed
	}
	return "default"
}

// AddFlag registers a declared parameter as a flag on fs.
func AddFlag[T any](fs *pflag.FlagSet, k Key[T]) {
	p := k.p
	help := p.Help + " (env " + p.Env() + ")"
	switch p.Kind {
	case String:
		d, _ := p.Default.(string)
		fs.StringP(p.Name, p.Short, d, help)
	case Bool:
		d, _ := p.Default.(bool)
		fs.BoolP(p.Name, p.Short, d, help)
	case Duration:
		d, _ := p.Default.(time.Duration)
		v := durationValue(d)
		fs.VarP(&v, p.Name, p.Short, help)
	case StringSlice:
		d, _ := p.Default.([]string)
		fs.StringSliceP(p.Name, p.Short, d, help)
	}
}

// durationValue is a duration flag that also takes a bare number of seconds.
type durationValue time.Duration

func (d *durationValue) String() string { return time.Duration(*d).String() }
func (d *durationValue) Type() string   { return "duration" }
func (d *durationValue) Set(s string) error {
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = durationValue(v)
	return nil
}
