package docsnippets

import (
	"reflect"
	"strings"
	"testing"
)

func TestSegments(t *testing.T) {
	for _, c := range []struct {
		line string
		want [][]string
	}{
		{`cesub status -a`, [][]string{{"cesub", "status", "-a"}}},
		{`JOB=$(cesub submit -C "$CE" job.xrsl)   # prints the id`,
			[][]string{{"cesub", "submit", "-C", "X", "job.xrsl"}, {"JOB=X"}}},
		{`cesub hold JOB; cesub release JOB`, [][]string{{"cesub", "hold", "JOB"}, {"cesub", "release", "JOB"}}},
		{`cesub proxy info --exists || cesub proxy init`, [][]string{{"cesub", "proxy", "info", "--exists"}, {"cesub", "proxy", "init"}}},
		{`gen | cesub submit -f - 2>err.txt > out && echo ok`, [][]string{{"gen"}, {"cesub", "submit", "-f", "-"}, {"echo", "ok"}}},
		{`cesub submit --queue '$(N)' --var "A=b c" x\ y`, [][]string{{"cesub", "submit", "--queue", "$(N)", "--var", "A=b c", "x y"}}},
		{`cat > job.xrsl <<'EOF'`, [][]string{{"cat"}}},
		{`echo "${HOME}/x $1 \$ $"`, [][]string{{"echo", "X/x X $ $"}}},
		{`CESUB_ENDPOINTS=f.yaml cesub status -a &>log`, [][]string{{"CESUB_ENDPOINTS=f.yaml", "cesub", "status", "-a"}}},
	} {
		if got := Segments(c.line); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Segments(%q) = %q, want %q", c.line, got, c.want)
		}
	}
}

const doc = "# T\n\nRun `cesub token show` first, then `cesub status -a\n--watch`.\n" +
	"A message: ``cesub info --ce X (says `cesub ping`)``.\n\n" +
	"<!-- readme-test: quickstart token=a -->\n\n```sh\ncesub token get \\\n  --write\ncat > j <<'X'\ncesub not-a-command\nX\nJOB=$(cesub submit j)\n```\n\n" +
	"```yaml\ncesub: no\n```\n\nprose\n\n<!-- readme-test: lost -->\ntext between\n```bash\ncesub version\n```\n"

func TestBlocks(t *testing.T) {
	b := Blocks(doc)
	if len(b) != 3 {
		t.Fatalf("%d blocks, want 3: %+v", len(b), b)
	}
	if b[0].Lang != "sh" || b[0].Marker != "quickstart token=a" || b[0].Line != 9 || !strings.HasPrefix(b[0].Text, "cesub token get \\\n") {
		t.Errorf("block 0 = %+v", b[0])
	}
	if b[1].Lang != "yaml" || b[1].Marker != "" {
		t.Errorf("block 1 = %+v", b[1])
	}
	if b[2].Marker != "" {
		t.Errorf("a marker with text between it and the block must not apply: %+v", b[2])
	}
}

func TestCommands(t *testing.T) {
	var got []string
	for _, c := range Commands(doc) {
		got = append(got, strings.Join(c.Args, " ")+"@"+map[bool]string{true: "inline", false: "block"}[c.Inline])
	}
	want := []string{"token get --write@block", "submit j@block", "version@block", "token show@inline", "status -a --watch@inline", "info --ce X@inline"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Commands = %q, want %q", got, want)
	}
	if c := Commands(doc)[1]; c.Line != 15 {
		t.Errorf("submit is on line %d, want 15", c.Line)
	}
}
