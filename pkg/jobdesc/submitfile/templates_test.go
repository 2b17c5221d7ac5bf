package submitfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExpandMetaArgs(t *testing.T) {
	for _, tc := range []struct{ body, args, want string }{
		{"a=$(1) b=$(2) all=$(0)", " x , y ", "a=x b=y all=x , y"},
		{"$(1?)$(2?)$(3?)", "x,y", "110"},
		{"$(0?)", "", "0"},
		{"rest=$(2+) n=$(0#)", "a, b, c", "rest=b, c n=3"},
		{"q=$(2:Default) r=$(3+:none)", "a", "q=Default r=none"},
		{"u=$(2:$(USERNAME)@x.org) keep=$(Cluster)", "a", "u=$(USERNAME)@x.org keep=$(Cluster)"},
		{"$(12) $(1", "a", " $(1"},
	} {
		if got := expandMetaArgs(tc.body, tc.args); got != tc.want {
			t.Errorf("expandMetaArgs(%q, %q) = %q, want %q", tc.body, tc.args, got, tc.want)
		}
	}
}

func TestSplitKnobs(t *testing.T) {
	ks, err := splitKnobs(" A, B(x, (y), z) ,C()")
	if err != nil || len(ks) != 3 || ks[1].name != "B" || ks[1].args != "x, (y), z" || !ks[2].hasArgs || ks[0].hasArgs {
		t.Fatalf("%+v %v", ks, err)
	}
	for _, bad := range []string{"A(x", "A(x) B", ", A"} {
		if _, err := splitKnobs(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestReadCondorConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("more.conf", "SUBMIT_TEMPLATE_NAMES = $(SUBMIT_TEMPLATE_NAMES), Two\nsubmit_template_two = request_cpus = 2\n")
	main := write("main.conf", `# comments and other settings are skipped
DAEMON_LIST = MASTER
SUBMIT_TEMPLATE_NAMES = One
SUBMIT_TEMPLATE_One @=end
  request_memory = $(1:512)
  +Long = "a" \
    + "b"
@end
include : more.conf
include ifexist : missing.conf
SUBMIT_TEMPLATE_Unlisted = x = 1
`)
	tpl, err := ReadCondorConfig([]string{main})
	if err != nil {
		t.Fatal(err)
	}
	if len(tpl) != 2 || !strings.Contains(tpl["ONE"], "request_memory = $(1:512)") || tpl["TWO"] != "request_cpus = 2" {
		t.Fatalf("templates: %q", tpl)
	}
	if _, err := ReadCondorConfig([]string{write("bad.conf", "include : nowhere.conf\n")}); err == nil {
		t.Error("a missing include was not an error")
	}
	if _, err := ReadCondorConfig([]string{write("loop.conf", "include : loop.conf\n")}); err == nil || !strings.Contains(err.Error(), "deeper") {
		t.Errorf("an include loop: %v", err)
	}
}

func TestUseStatements(t *testing.T) {
	tpl := Templates{
		"RES":  "if ! $(1?)\n error : Res needs cpus\nendif\nrequest_cpus = $(1)\nrequest_memory = $(2:1024)",
		"WRAP": "use template : Res($(1:3))\nwarning : wrapped $(0)",
		"LOOP": "use template : Loop",
	}
	parse := func(src string) (*File, error) {
		return Parse("t.sub", []byte(src), ParseOptions{Options: Options{Templates: tpl}})
	}
	f, err := parse("executable = /bin/true\nuse template : Wrap(x)\nuse template : Res(5, 99)\nuse strict : TRUE\nqueue\n")
	if err != nil {
		t.Fatal(err)
	}
	ad := f.Procs[0].Ad
	if v, _ := ad.Int("RequestCpus"); v != 5 {
		t.Errorf("RequestCpus %d: the later template should win", v)
	}
	if len(f.Warnings) == 0 || !strings.Contains(f.Warnings[0].String(), "wrapped x") {
		t.Errorf("warning : not shown: %v", f.Warnings)
	}
	for src, want := range map[string]string{
		"use template : Res\nqueue\n":         "t.sub:1:1 (template:Res):2:2: Res needs cpus",
		"use template : Nope\nqueue\n":        "t.sub:1:1: use template: does not recognise Nope (defined: LOOP, RES, WRAP)",
		"use role : Execute\nqueue\n":         "unknown category",
		"use strict : maybe\nqueue\n":         "want true, false or harsh",
		"use template : Loop\nqueue\n":        "nested deeper than",
		"use template : Res(1\nqueue\n":       "'(' is not closed",
		"executable = x\nerror : stop here\n": "t.sub:2:1: stop here",
	} {
		if _, err := parse(src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", src, err, want)
		}
	}
	if _, err := Parse("t.sub", []byte("use template : Res(1)\nqueue\n"), ParseOptions{}); err == nil || !strings.Contains(err.Error(), "no submit templates are defined") {
		t.Errorf("no templates at all: %v", err)
	}
}
