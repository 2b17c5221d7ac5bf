package cmdutil

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
	"time"
)

func TestEscapeControls(t *testing.T) {
	for _, c := range []struct{ in, text, oneLine string }{
		{"plain text, é 日本 ✓", "plain text, é 日本 ✓", "plain text, é 日本 ✓"},
		{"a\tb\nc", "a\tb\nc", `a\tb\nc`},
		{"FAILED\x1b]0;PWNED-TITLE\x07\x1b[2J", `FAILED\x1b]0;PWNED-TITLE\x07\x1b[2J`, `FAILED\x1b]0;PWNED-TITLE\x07\x1b[2J`},
		{"cr\rdel\x7fnul\x00", `cr\x0ddel\x7fnul\x00`, `cr\x0ddel\x7fnul\x00`},
		{"c1 \u009b31m raw \x9b31m bad \xff", `c1 \u009b31m raw \x9b31m bad \xff`, `c1 \u009b31m raw \x9b31m bad \xff`},
		{"bidi \u202eevil\u2066x\u2069 \u200f ls\u2028", `bidi \u202eevil\u2066x\u2069 \u200f ls\u2028`, `bidi \u202eevil\u2066x\u2069 \u200f ls\u2028`},
	} {
		if got := string(EscapeControls([]byte(c.in), false)); got != c.text {
			t.Errorf("EscapeControls(%q) = %q, want %q", c.in, got, c.text)
		}
		if got := OneLine(c.in); got != c.oneLine {
			t.Errorf("OneLine(%q) = %q, want %q", c.in, got, c.oneLine)
		}
	}
}

// guarded returns streams guarded as Run guards them, and their buffers.
func guarded() (*IOStreams, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	s := &IOStreams{Out: &out, ErrOut: &errb}
	s.Guard()
	return s, &out, &errb
}

// TestGuardWritesByteByByte: a credential or a UTF-8 character split over
// many writes (as bufio and tabwriter may split them) is still scrubbed,
// or kept whole.
func TestGuardWritesByteByByte(t *testing.T) {
	s, out, _ := guarded()
	secret := "tok-0123456789abcdefghij"
	s.Secrets().Add(secret)
	text := "before " + secret + " é after \x1b[2J " + secret[:20] + "…" + " end " + secret[:18]
	for i := 0; i < len(text); i++ {
		if _, err := s.Out.Write([]byte{text[i]}); err != nil {
			t.Fatal(err)
		}
	}
	s.Flush()
	want := `before [REDACTED] é after \x1b[2J [REDACTED]… end [REDACTED]`
	if out.String() != want {
		t.Errorf("got  %q\nwant %q", out.String(), want)
	}
}

// TestGuardKeepsJSON: PrintJSON through the guarded streams writes what
// it wrote before, byte for byte, control characters and all (a hostile
// string stays exact in JSON); only a registered credential is replaced.
func TestGuardKeepsJSON(t *testing.T) {
	v := map[string]any{"state": "FAILED\x1b]0;PWNED-TITLE\x07\x1b[2J", "bidi": "\u202eevil\u009b", "list": []string{"a\nb", "<&>"},
		"big": strings.Repeat("x\x1b", 40000)}
	var plain bytes.Buffer
	if err := writeJSON(&plain, v); err != nil {
		t.Fatal(err)
	}
	s, out, _ := guarded()
	s.Secrets().Add("a-secret-not-in-the-document")
	f := &Factory{IO: s}
	if err := f.PrintJSON(v); err != nil {
		t.Fatal(err)
	}
	s.Flush()
	if !bytes.Equal(out.Bytes(), plain.Bytes()) {
		t.Errorf("guarded JSON differs from encoding/json's (%d bytes, want %d)", out.Len(), plain.Len())
	}
	secret := `se"cret\with-quote`
	s.Secrets().Add(secret)
	out.Reset()
	if err := f.PrintJSON(map[string]string{"error": "echo " + secret}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), `cret\\with`) || !strings.Contains(out.String(), `"echo [REDACTED]"`) {
		t.Errorf("a credential in JSON (escaped by encoding/json) is not scrubbed: %s", out.String())
	}
}

func TestSecretForms(t *testing.T) {
	s, _, _ := guarded()
	sec := s.Secrets()
	sec.Add("short") // too short to scrub: would blank ordinary words
	b64 := base64.RawURLEncoding.EncodeToString
	sig := b64([]byte("signature-part-of-the-jwt"))
	jwt := b64([]byte(`{"alg":"ES256"}`)) + "." + b64([]byte(`{"sub":"user"}`)) + "." + sig
	sec.Add(jwt)
	sec.AddClientSecret("my client", "p@ss+word/=1234")
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	keyLine := strings.Split(string(keyPEM), "\n")[2]
	sec.AddPEM(append([]byte("-----BEGIN CERTIFICATE-----\nQ0VSVElGSUNBVEUtTElORS1OT1QtU0VDUkVU\n-----END CERTIFICATE-----\n"), keyPEM...))
	basic := base64.StdEncoding.EncodeToString([]byte("my+client:p%40ss%2Bword%2F%3D1234"))
	for _, c := range []struct{ in, want string }{
		{"a short word", "a short word"},
		{"Bearer " + jwt, "Bearer [REDACTED]"},
		{"sig " + sig + " only", "sig [REDACTED] only"},
		{"client_secret=p%40ss%2Bword%2F%3D1234&x=1", "client_secret=[REDACTED]&x=1"},
		{"raw p@ss+word/=1234.", "raw [REDACTED]."},
		{"Authorization: Basic " + basic, "Authorization: Basic [REDACTED]"},
		{"key " + keyLine + " and cert Q0VSVElGSUNBVEUtTElORS1OT1QtU0VDUkVU", "key [REDACTED] and cert Q0VSVElGSUNBVEUtTElORS1OT1QtU0VDUkVU"},
		{"cut " + jwt[:40] + "…", "cut [REDACTED]…"},
		{"header only " + jwt[:15], "header only " + jwt[:15]},
	} {
		if got := sec.Scrub(c.in); got != c.want {
			t.Errorf("Scrub(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestProgressIsNotEscaped: the progress line cesub draws itself keeps its
// terminal control when the streams are guarded.
func TestProgressIsNotEscaped(t *testing.T) {
	var errb bytes.Buffer
	s := &IOStreams{Out: &bytes.Buffer{}, ErrOut: &errb, ErrTTY: true}
	s.Guard()
	f := &Factory{IO: s, Now: time.Now}
	p := f.NewProgress("downloading", 1)
	p.Add(10)
	p.Done()
	if !strings.Contains(errb.String(), "\r\033[K") {
		t.Errorf("progress lost its terminal control: %q", errb.String())
	}
}
