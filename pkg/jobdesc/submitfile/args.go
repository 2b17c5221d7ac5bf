package submitfile

import (
	"fmt"
	"strings"
)

// parseArgsV2 reads HTCondor's new argument syntax: the whole value in double
// quotes ("" is a literal "), blanks separate arguments, '…' groups blanks into
// one argument (” inside is a literal ').
func parseArgsV2(v string) ([]string, error) {
	t := strings.TrimSpace(v)
	if len(t) < 2 || t[0] != '"' || t[len(t)-1] != '"' {
		return nil, fmt.Errorf("new-syntax arguments must be enclosed in double quotes: %s", v)
	}
	body := t[1 : len(t)-1]
	// "" -> "
	var un strings.Builder
	for i := 0; i < len(body); i++ {
		if body[i] == '"' {
			if i+1 < len(body) && body[i+1] == '"' {
				un.WriteByte('"')
				i++
				continue
			}
			return nil, fmt.Errorf("a double quote inside the arguments must be doubled (\"\"): %s", v)
		}
		un.WriteByte(body[i])
	}
	s := un.String()
	var out []string
	var cur strings.Builder
	have, inQ := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			if inQ && i+1 < len(s) && s[i+1] == '\'' {
				cur.WriteByte('\'')
				i++
				continue
			}
			inQ = !inQ
			have = true
		case (c == ' ' || c == '\t' || c == '\n') && !inQ:
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteByte(c)
			have = true
		}
	}
	if inQ {
		return nil, fmt.Errorf("unbalanced single quote in %s", v)
	}
	if have {
		out = append(out, cur.String())
	}
	return out, nil
}

// quoteV2 writes one argument in the V2 raw form HTCondor stores: blanks are
// single-quoted one by one, a literal ' is ”” and an empty argument is ”.
func quoteV2(a string) string {
	if a == "" {
		return "''"
	}
	var b strings.Builder
	for i := 0; i < len(a); i++ {
		switch c := a[i]; c {
		case ' ', '\t', '\n':
			b.WriteString("'" + string(c) + "'")
		case '\'':
			b.WriteString("''''")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func joinArgsV2(args []string) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = quoteV2(a)
	}
	return strings.Join(parts, " ")
}

// parseEnvV2 reads "NAME=value NAME2='a b'" into NAME=value pairs.
func parseEnvV2(v string) ([][2]string, error) {
	toks, err := parseArgsV2(v)
	if err != nil {
		return nil, err
	}
	var out [][2]string
	for _, t := range toks {
		name, val, ok := strings.Cut(t, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("environment entry %q is not NAME=value", t)
		}
		out = append(out, [2]string{name, val})
	}
	return out, nil
}

func joinEnvV2(env [][2]string) string {
	parts := make([]string, len(env))
	for i, e := range env {
		parts[i] = e[0] + "=" + quoteV2(e[1])
	}
	return strings.Join(parts, " ")
}
