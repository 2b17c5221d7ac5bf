package config

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// fileWarnings names the keys of config file path (its text src) that are
// no setting, each with its line and the closest setting: viper ignores
// them, so `outptu: json` would silently leave the output as text.
func fileWarnings(path string, src []byte) []string {
	var doc yaml.Node
	if yaml.Unmarshal(src, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil // viper has read it; a file that is no mapping sets nothing
	}
	m := doc.Content[0]
	var out []string
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if Lookup(k.Value) != nil {
			continue
		}
		w := fmt.Sprintf("config file %s:%d: unknown key %q is ignored", path, k.Line, k.Value)
		if s := closestSetting(k.Value); s != "" {
			w += fmt.Sprintf(" (did you mean %q?)", s)
		}
		out = append(out, w)
	}
	return out
}

// clientConfWarnings names the [common] values of an ARC client.conf that
// cesub reads but cannot use (`timeout=abc`), with their line.
func clientConfWarnings(path string, src []byte, common map[string]string) []string {
	var out []string
	for _, p := range All() {
		s, ok := common[p.ClientConf]
		if p.ClientConf == "" || !ok || s == "" || p.Kind != Duration {
			continue
		}
		if _, err := strconv.Atoi(s); err != nil { // as Load reads it
			out = append(out, fmt.Sprintf("ARC client config %s:%d: %s=%s is not a number of seconds; ignored (cesub uses %v)",
				path, commonLine(src, p.ClientConf), p.ClientConf, s, p.Default))
		}
	}
	return out
}

// commonLine is the line of key in the [common] section of an ini text (0
// when not found).
func commonLine(src []byte, key string) int {
	sc := bufio.NewScanner(bytes.NewReader(src))
	section := ""
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "[") {
			section = strings.ToLower(strings.Trim(l, "[] "))
			continue
		}
		if k, _, ok := strings.Cut(l, "="); ok && section == "common" && strings.EqualFold(strings.TrimSpace(k), key) {
			return n
		}
	}
	return 0
}

// closestSetting is the setting name nearest to s (at most 3 edits, or
// one containing it), or "".
func closestSetting(s string) string {
	best, bestD := "", 4
	for _, p := range All() {
		d := editDistance(strings.ToLower(s), p.Name)
		if d < bestD {
			best, bestD = p.Name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, with a swap of two
// neighbouring letters counted as one edit (`outptu`).
func editDistance(a, b string) int {
	x, y := []rune(a), []rune(b)
	d := make([][]int, len(x)+1)
	for i := range d {
		d[i] = make([]int, len(y)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(x)][len(y)]
}
