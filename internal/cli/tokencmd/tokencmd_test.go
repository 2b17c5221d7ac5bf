package tokencmd

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/cesub/cesub/internal/cli/cmdutil"
)

func factory() *cmdutil.Factory {
	return &cmdutil.Factory{IO: &cmdutil.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}}
}

func TestNewCmdCheckParsesOptions(t *testing.T) {
	var got *CheckOptions
	cmd := NewCmdCheck(factory(), func(o *CheckOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"-C", "condor://ce:9619", "--op", "status", "--op", "submit,cancel", "--min-valid", "10m",
		"--skew", "30s", "--authtokens", "* a b * *", "--authtokens", "* c d * *", "--arc-conf", "/etc/arc.conf", "--audience", "x"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.CE != "condor://ce:9619" || strings.Join(splitList(got.Ops), ",") != "status,submit,cancel" || got.MinValid != 10*time.Minute ||
		got.Skew != 30*time.Second || len(got.AuthTokens) != 2 || got.AuthTokens[1] != "* c d * *" || got.ArcConf != "/etc/arc.conf" {
		t.Fatalf("options: %+v", got)
	}
}

func TestNewCmdGetParsesOptions(t *testing.T) {
	var got *GetOptions
	cmd := NewCmdGet(factory(), func(o *GetOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--oidc-agent", "wlcg", "--scope", "compute.read compute.create", "--scope", "compute.cancel",
		"--audience", "https://ce:443", "--min-valid", "2m", "--write"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.AgentAccount != "wlcg" || strings.Join(splitList(got.Scopes), " ") != "compute.read compute.create compute.cancel" ||
		got.MinValid != 2*time.Minute || !got.Write || got.Audiences[0] != "https://ce:443" {
		t.Fatalf("options: %+v", got)
	}
	cmd = NewCmdGet(factory(), func(o *GetOptions) error { t.Fatal("run with two sources"); return nil })
	cmd.SetArgs([]string{"--oidc-agent", "a", "--oidc-issuer", "https://i"})
	if err := cmd.Execute(); cmdutil.CodeOf(err) != cmdutil.ExitUsage {
		t.Fatalf("two sources: %v", err)
	}
}

func TestNewCmdShowParsesOptions(t *testing.T) {
	var got *ShowOptions
	cmd := NewCmdShow(factory(), func(o *ShowOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--raw", "--token", "a.b.c"})
	if err := cmd.Execute(); err != nil || !got.Raw || got.Static.Token != "a.b.c" {
		t.Fatalf("options: %+v %v", got, err)
	}
}
