package testbed

import (
	"reflect"
	"testing"
)

func TestVersions(t *testing.T) {
	e := &Env{Vars: ParseExports([]byte(`export CESUB_TESTBED_CONDOR_CE='condor://ce.cesub.test:9619'
export CESUB_TESTBED_CONDOR_SUITE='trixie'
export CESUB_TESTBED_CONDOR_SID_CE='condor://ce-sid.cesub.test:9619'
export CESUB_TESTBED_CONDOR_SID_SUITE='sid'
export CESUB_TESTBED_AREX_URL='https://localhost:8444/arex'
`))}
	names, envs := e.Versions("CONDOR")
	if !reflect.DeepEqual(names, []string{"trixie", "sid"}) || len(envs) != 2 {
		t.Fatalf("names %v", names)
	}
	if envs[0] != e || envs[1].Vars["CESUB_TESTBED_CONDOR_CE"] != "condor://ce-sid.cesub.test:9619" {
		t.Errorf("sid view: %v", envs[1].Vars)
	}
	if envs[1].Vars["CESUB_TESTBED_AREX_URL"] == "" || e.Vars["CESUB_TESTBED_CONDOR_CE"] != "condor://ce.cesub.test:9619" {
		t.Errorf("the copy lost other variables or changed the original")
	}
	if names, _ := e.Versions("ARC7"); len(names) != 1 {
		t.Errorf("ARC7 versions %v", names)
	}
}
