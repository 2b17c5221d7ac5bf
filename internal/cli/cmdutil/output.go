package cmdutil

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Redacted replaces a credential in anything cesub prints (debug lines
// show "Bearer [REDACTED]" the same way).
const Redacted = "[REDACTED]"

// minSecret is the shortest credential scrubbed from output: a shorter one
// would blank out ordinary words, and is no secret worth the name.
const minSecret = 8

// Secrets are the credentials this process holds (tokens, their signature
// parts, client secrets, private keys). Every writer of IOStreams replaces
// each of them with [REDACTED], so a CE or issuer that echoes one back (an
// error body quoting the Authorization header, an OAuth error quoting the
// form) cannot make cesub print it. One registry per IOStreams, filled by
// the token sources as they read or fetch credentials. Safe for concurrent
// use; a nil *Secrets holds nothing.
type Secrets struct {
	mu     sync.RWMutex
	pats   []string      // every form of every secret, longest first
	first  [256][]string // pats by their first byte
	maxLen int
	rep    *strings.Replacer
}

// Add registers credentials: each value, for a JWT its signature part too,
// and each as encoding/json writes it (so -o json is scrubbed as well) and
// as a form encodes it (a server quoting the form it was sent).
func (s *Secrets) Add(secrets ...string) {
	if s == nil {
		return
	}
	var forms []string
	for _, secret := range secrets {
		if len(secret) < minSecret {
			continue
		}
		own := []string{secret}
		if parts := strings.Split(secret, "."); len(parts) == 3 && len(parts[2]) >= minSecret {
			own = append(own, parts[2]) // the part that makes a JWT a credential
		}
		for _, f := range own {
			forms = append(forms, f)
			if j := jsonForm(f); j != f {
				forms = append(forms, j)
			}
			if q := url.QueryEscape(f); q != f {
				forms = append(forms, q)
			}
		}
	}
	if len(forms) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range forms {
		if !slices.Contains(s.pats, f) {
			s.pats = append(s.pats, f)
		}
	}
	sort.SliceStable(s.pats, func(i, j int) bool { return len(s.pats[i]) > len(s.pats[j]) })
	pairs := make([]string, 0, 2*len(s.pats))
	s.first = [256][]string{}
	for _, p := range s.pats {
		pairs = append(pairs, p, Redacted)
		s.first[p[0]] = append(s.first[p[0]], p)
		s.maxLen = max(s.maxLen, len(p))
	}
	s.rep = strings.NewReplacer(pairs...)
}

// AddClientSecret registers an OAuth2 client secret, and the HTTP Basic
// credentials an issuer is sent with it (golang.org/x/oauth2 sends the
// secret in the Authorization header or in the form).
func (s *Secrets) AddClientSecret(clientID, secret string) {
	if len(secret) < minSecret {
		return
	}
	s.Add(secret, base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(clientID)+":"+url.QueryEscape(secret))))
}

// AddPEM registers the private keys of a PEM file (a proxy, a user key):
// each base64 line of a PRIVATE KEY block, so that a key quoted whole, in
// part or with its lines joined is still not printed.
func (s *Secrets) AddPEM(pemText []byte) {
	var lines []string
	inKey := false
	for _, line := range strings.Split(string(pemText), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "-----BEGIN") && strings.Contains(line, "PRIVATE KEY"):
			inKey = true
		case strings.HasPrefix(line, "-----END"):
			inKey = false
		case inKey && !strings.Contains(line, ":"): // not a Proc-Type/DEK-Info header
			lines = append(lines, line)
		}
	}
	s.Add(lines...)
}

// jsonForm is s as it appears between the quotes of cesub's JSON output.
func jsonForm(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(s) != nil {
		return s
	}
	out := strings.TrimSuffix(b.String(), "\n")
	return out[1 : len(out)-1]
}

// minPartial is the shortest start of a credential scrubbed on its own:
// an error body cut short (A-REX's at 300 bytes, an issuer's at 200) can
// end in the middle of a token.
const minPartial = 16

// Scrub returns text with every registered credential replaced by
// [REDACTED], and every start of one (at least minPartial bytes) that is
// not followed by the rest, as where a server's text was cut short.
func (s *Secrets) Scrub(text string) string { return s.scrub(text, true) }

// scrub is Scrub; unless final, a start of a credential that reaches the
// end of text is left (the writer holds it back to see what follows).
func (s *Secrets) scrub(text string, final bool) string {
	if s == nil {
		return text
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.rep == nil {
		return text
	}
	text = s.rep.Replace(text)
	for _, p := range s.pats {
		if len(p) <= minPartial {
			continue
		}
		for from := 0; ; {
			i := strings.Index(text[from:], p[:minPartial])
			if i < 0 {
				break
			}
			i += from
			n := minPartial
			for i+n < len(text) && n < len(p) && text[i+n] == p[n] {
				n++
			}
			if i+n == len(text) && !final {
				break
			}
			text = text[:i] + Redacted + text[i+n:]
			from = i + len(Redacted)
		}
	}
	return text
}

// mayHold reports whether b holds the start of a credential (what scrub
// replaces): most writes hold none and go out as they are.
func (s *Secrets) mayHold(b []byte) bool {
	if s == nil || len(b) == 0 {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i, c := range b {
		for _, p := range s.first[c] {
			k := p[:min(len(p), minPartial)]
			if len(b)-i >= len(k) && string(b[i:i+len(k)]) == k {
				return true
			}
		}
	}
	return false
}

// partialTail is the length of the longest end of b that begins a
// credential: it is held back until the next write shows whether the
// credential follows.
func (s *Secrets) partialTail(b []byte) int {
	if s == nil {
		return 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i := max(0, len(b)-s.maxLen+1); i < len(b); i++ {
		for _, p := range s.first[b[i]] {
			if n := len(b) - i; n < len(p) && string(b[i:]) == p[:n] {
				return n
			}
		}
	}
	return 0
}

// guardWriter is the one place where server text is made safe to print
// (see the package documentation): it scrubs credentials and, for text
// output, shows terminal control characters escaped.
type guardWriter struct {
	mu      *sync.Mutex // one per stream: messages written from several goroutines come out whole
	w       io.Writer
	secrets *Secrets
	text    bool   // escape control characters (not for JSON or terminal control)
	pending []byte // held back: may begin a credential or a split UTF-8 character
	joined  []byte // pending and the next write
}

func (g *guardWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	data := p
	if len(g.pending) > 0 {
		g.joined = append(append(g.joined[:0], g.pending...), p...)
		data = g.joined
	}
	if g.secrets.mayHold(data) {
		data = []byte(g.secrets.scrub(string(data), false))
	}
	hold := g.secrets.partialTail(data)
	if g.text {
		hold = max(hold, splitRune(data))
	}
	g.pending = append(g.pending[:0], data[len(data)-hold:]...) // (buffers reused: a tail is often held)
	if err := g.emit(data[:len(data)-hold]); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes what was held back (at the end of a command).
func (g *guardWriter) Flush() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	p := bytes.Clone(g.pending)
	g.pending = g.pending[:0]
	if g.secrets.mayHold(p) {
		p = []byte(g.secrets.scrub(string(p), true))
	}
	return g.emit(p)
}

func (g *guardWriter) emit(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if g.text {
		b = EscapeControls(b, false)
	}
	_, err := g.w.Write(b)
	return err
}

// splitRune is the length of an incomplete UTF-8 character ending b.
func splitRune(b []byte) int {
	for n := 1; n < utf8.UTFMax && n <= len(b); n++ {
		c := b[len(b)-n]
		if c < 0x80 {
			return 0
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(b[len(b)-n:]) {
				return n
			}
			return 0
		}
	}
	return 0
}

// EscapeControls returns b with every character that can drive a terminal
// shown escaped: C0 controls but newline and tab (and those too when
// oneLine) as \x1b, DEL as \x7f, bytes that are not UTF-8 as \x9b, C1
// controls, Unicode bidirectional controls and line separators as \u202e.
// b itself is returned when it holds none.
func EscapeControls(b []byte, oneLine bool) []byte {
	i := 0
	for i < len(b) {
		c := b[i]
		if c >= 0x20 && c < 0x7f || (c == '\n' || c == '\t') && !oneLine {
			i++
			continue
		}
		if c < 0x80 {
			break
		}
		r, size := utf8.DecodeRune(b[i:])
		if needsEscape(r, size) {
			break
		}
		i += size
	}
	if i == len(b) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	out = append(out, b[:i]...)
	for i < len(b) {
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == '\n' || r == '\t':
			if oneLine {
				out = append(out, '\\', "nt"[boolIndex(r == '\t')])
			} else {
				out = append(out, byte(r))
			}
		case r < 0x20 || r == 0x7f || r == utf8.RuneError && size == 1:
			out = fmt.Appendf(out, `\x%02x`, b[i])
		case needsEscape(r, size):
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

func needsEscape(r rune, size int) bool {
	switch {
	case r == utf8.RuneError && size == 1:
		return true
	case r < 0x20 || r >= 0x7f && r <= 0x9f:
		return true
	case r == '\u2028' || r == '\u2029':
		return true
	}
	return unicode.Is(unicode.Bidi_Control, r)
}

// OneLine is s safe to print as one field of a line: every control
// character escaped, newline and tab included, so that a CE's text cannot
// start a line of its own or shift a column.
func OneLine(s string) string { return string(EscapeControls([]byte(s), true)) }
