package arcrest

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/cesub/cesub/pkg/ce"
)

// JobID and Submit read the negotiated version under the lock that guards
// its writes (go test -race fails otherwise).
func TestVersionReadUnderLock(t *testing.T) {
	_, c := newFakeREST(t, both)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 200 {
			c.SetVersion([]string{"1.0", "1.1"}[i%2])
		}
	}()
	for range 200 {
		if id := c.JobID("abc"); !strings.HasSuffix(id, "/jobs/abc") {
			t.Errorf("job id %q", id)
		}
	}
	wg.Wait()
	c.SetVersion("1.1")
	res, err := c.Submit(context.Background(), trueJobs(1), ce.SubmitOptions{Instances: 2})
	if err != nil || len(res) != 2 {
		t.Errorf("%v %+v", err, res)
	}
}
