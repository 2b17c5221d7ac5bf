// Package endpoints reads an endpoint file: the CEs of a testbed or a
// pilot factory, each with its address, flavour, VO, token audience and
// where its token comes from, and an optional test job (docs/endpoints.md).
// Unknown keys, missing addresses and bad values are errors naming the
// file, line and column.
package endpoints

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cesub/cesub/pkg/ce"
	"go.yaml.in/yaml/v3"
)

// Token says where an endpoint's token comes from.
type Token struct {
	// Source: "discovery" (WLCG token discovery, the default), "device"
	// (the device login's token), "file", "oidc-agent" or "client-credentials".
	Source string `yaml:"source"`
	File   string `yaml:"file"`    // source file
	Agent  string `yaml:"account"` // source oidc-agent: the account short name
	// source client-credentials: the issuer, the client id and a file
	// holding the secret
	Issuer     string   `yaml:"issuer"`
	ClientID   string   `yaml:"client-id"`
	SecretFile string   `yaml:"secret-file"`
	Scopes     []string `yaml:"scopes"`
}

// Job is an endpoint's optional test job.
type Job struct {
	File string `yaml:"file"` // a description (xRSL, ADL or submit file); relative to the endpoint file
	// Expect is text the job's standard output must contain.
	Expect string `yaml:"expect"`
	// Timeout bounds the job from submission to its end (default 10m).
	Timeout time.Duration `yaml:"timeout"`
	// Src is the description when it was read already (`cesub test --job -`
	// reads stdin once for every CE); nil: read File.
	Src []byte `yaml:"-"`
}

// Endpoint is one CE.
type Endpoint struct {
	Name     string `yaml:"name"` // default: the address
	Site     string `yaml:"site"`
	CE       string `yaml:"ce"`      // the address as -C takes it
	Flavour  string `yaml:"flavour"` // default: from the address
	VO       string `yaml:"vo"`
	Group    string `yaml:"group"`
	Audience string `yaml:"audience"` // default: the CE's own
	Token    Token  `yaml:"token"`
	Job      *Job   `yaml:"job"`
	Skip     bool   `yaml:"skip"`

	Address ce.Address `yaml:"-"`
	Line    int        `yaml:"-"` // where it is in the file
}

// File is an endpoint file.
type File struct {
	Path      string
	Defaults  Endpoint   `yaml:"defaults"`
	Endpoints []Endpoint `yaml:"endpoints"`
}

// Read reads and checks an endpoint file. Each endpoint gets the
// defaults for what it leaves out, its parsed address, and its job file
// resolved against the file's directory.
func Read(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("endpoint file: %w", err)
	}
	return Parse(path, b)
}

// Parse is Read of text already read.
func Parse(path string, src []byte) (*File, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	f := &File{Path: path}
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := root.Decode(f); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("%s: %s", path, strings.Join(te.Errors, "; "))
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := strictKeys(path, &root); err != nil {
		return nil, err
	}
	lines := endpointLines(&root)
	if len(f.Endpoints) == 0 {
		return nil, fmt.Errorf("%s: no endpoints (want a list under 'endpoints:')", path)
	}
	seen := map[string]int{}
	for i := range f.Endpoints {
		e := &f.Endpoints[i]
		if i < len(lines) {
			e.Line = lines[i]
		}
		where := fmt.Sprintf("%s:%d", path, e.Line)
		e.applyDefaults(f.Defaults)
		if e.CE == "" {
			return nil, fmt.Errorf("%s: endpoint %d has no 'ce' (the CE address)", where, i+1)
		}
		addr, err := ce.ParseAddress(e.CE, ce.Flavour(e.Flavour))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		e.Address = addr
		if e.Name == "" {
			e.Name = addr.Arg()
		}
		if prev, dup := seen[e.Name]; dup {
			return nil, fmt.Errorf("%s: endpoint name %q is also on line %d", where, e.Name, prev)
		}
		seen[e.Name] = e.Line
		switch e.Token.Source {
		case "", "discovery":
			e.Token.Source = "discovery"
		case "device": // the token of the device login (`cesub token get --device`), renewed by its refresh token
		case "file":
			if e.Token.File == "" {
				return nil, fmt.Errorf("%s: token source file needs 'file'", where)
			}
		case "oidc-agent":
			if e.Token.Agent == "" {
				return nil, fmt.Errorf("%s: token source oidc-agent needs 'account'", where)
			}
		case "client-credentials":
			if e.Token.Issuer == "" || e.Token.ClientID == "" || e.Token.SecretFile == "" {
				return nil, fmt.Errorf("%s: token source client-credentials needs 'issuer', 'client-id' and 'secret-file'", where)
			}
		default:
			return nil, fmt.Errorf("%s: token source %q: want discovery, device, file, oidc-agent or client-credentials", where, e.Token.Source)
		}
		for _, p := range []*string{&e.Token.File, &e.Token.SecretFile} {
			if *p != "" && !filepath.IsAbs(*p) {
				*p = filepath.Join(filepath.Dir(path), *p)
			}
		}
		if e.Job != nil {
			if e.Job.File == "" {
				return nil, fmt.Errorf("%s: 'job' needs 'file'", where)
			}
			if !filepath.IsAbs(e.Job.File) {
				e.Job.File = filepath.Join(filepath.Dir(path), e.Job.File)
			}
			if e.Job.Timeout == 0 {
				e.Job.Timeout = 10 * time.Minute
			}
		}
	}
	return f, nil
}

// applyDefaults fills what e leaves out from d.
func (e *Endpoint) applyDefaults(d Endpoint) {
	for _, p := range []struct{ dst, src *string }{{&e.Site, &d.Site}, {&e.Flavour, &d.Flavour}, {&e.VO, &d.VO},
		{&e.Group, &d.Group}, {&e.Audience, &d.Audience}} {
		if *p.dst == "" {
			*p.dst = *p.src
		}
	}
	if e.Token.Source == "" {
		e.Token = d.Token
	}
	if e.Job == nil && d.Job != nil {
		j := *d.Job
		e.Job = &j
	}
}

// endpointLines finds the line of each item of the endpoints list.
func endpointLines(root *yaml.Node) []int {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "endpoints" && m.Content[i+1].Kind == yaml.SequenceNode {
			var out []int
			for _, it := range m.Content[i+1].Content {
				out = append(out, it.Line)
			}
			return out
		}
	}
	return nil
}

// strictKeys refuses keys the format does not have, naming line and
// column (yaml's KnownFields does not reach through Node decoding).
func strictKeys(path string, root *yaml.Node) error {
	allowed := map[string][]string{
		"":         {"defaults", "endpoints"},
		"endpoint": {"name", "site", "ce", "flavour", "vo", "group", "audience", "token", "job", "skip"},
		"token":    {"source", "file", "account", "issuer", "client-id", "secret-file", "scopes"},
		"job":      {"file", "expect", "timeout"},
	}
	var check func(n *yaml.Node, kind string) error
	check = func(n *yaml.Node, kind string) error {
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			ok := false
			for _, a := range allowed[kind] {
				if k.Value == a {
					ok = true
				}
			}
			if !ok {
				return fmt.Errorf("%s:%d:%d: unknown key %q (known here: %s)", path, k.Line, k.Column, k.Value, strings.Join(allowed[kind], ", "))
			}
			switch {
			case kind == "" && k.Value == "defaults":
				if err := check(v, "endpoint"); err != nil {
					return err
				}
			case kind == "" && k.Value == "endpoints" && v.Kind == yaml.SequenceNode:
				for _, it := range v.Content {
					if err := check(it, "endpoint"); err != nil {
						return err
					}
				}
			case kind == "endpoint" && (k.Value == "token" || k.Value == "job"):
				if err := check(v, k.Value); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		return check(root.Content[0], "")
	}
	return nil
}
