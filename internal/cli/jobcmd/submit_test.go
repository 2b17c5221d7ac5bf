package jobcmd

import (
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/cesub/cesub/internal/cli/cmdutil"
)

// The flags and arguments reach the options the run function gets.
func TestSubmitArguments(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		files []string
		ce    string
		err   bool
	}{
		{[]string{"-C", "emies://ce/arex", "a.xrsl", "b.xrsl"}, []string{"a.xrsl", "b.xrsl"}, "emies://ce/arex", false},
		{[]string{"-C", "ce", "-f", "a.xrsl", "b.sub"}, []string{"a.xrsl", "b.sub"}, "ce", false},
		{[]string{"a.xrsl"}, []string{"a.xrsl"}, "", false},                   // no -C: the endpoint file's CEs (checked when run)
		{[]string{"-C", "ce"}, nil, "", true},                                 // no description
		{[]string{"-C", "ce", "--endpoint", "site", "a.xrsl"}, nil, "", true}, // --endpoint picks from the file, not from -C
	} {
		var got *SubmitOptions
		cmd := NewCmdSubmit(&cmdutil.Factory{}, func(o *SubmitOptions) error { got = o; return nil })
		cmd.SetArgs(tc.args)
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		err := cmd.Execute()
		if (err != nil) != tc.err {
			t.Errorf("%v: err %v", tc.args, err)
			continue
		}
		if err == nil && (!reflect.DeepEqual(got.Files, tc.files) || strings.Join(got.CEs, " ") != tc.ce) {
			t.Errorf("%v: files %v ce %q", tc.args, got.Files, got.CEs)
		}
	}
}
