package htcondor

// The FAKE schedd's file transfers (fakeschedd_test.go): the receiving
// side of SPOOL_JOB_FILES_WITH_PERMS and the sending side of
// TRANSFER_DATA_WITH_PERMS.

import (
	"fmt"
	"strings"

	"github.com/cesub/cesub/pkg/cedar"
	"github.com/cesub/cesub/pkg/classad"
)

// serveSpool receives the input sandboxes of the jobs the client names,
// records them, and releases the jobs held for them (as the schedd does
// once the files are in).
func (f *fakeScheddServer) serveSpool(c *cedar.Conn) {
	if _, err := c.GetString(); err != nil { // the client's version
		return
	}
	n, err := c.GetInt32()
	if err != nil || c.FinishMessage() != nil || n < 0 {
		return
	}
	ids := make([]string, n)
	for i := range ids {
		cl, err1 := c.GetInt()
		pr, err2 := c.GetInt()
		if err1 != nil || err2 != nil {
			return
		}
		ids[i] = fmt.Sprintf("%d.%d", cl, pr)
	}
	if c.FinishMessage() != nil {
		return
	}
	f.mu.Lock()
	fail := f.spoolFail
	f.mu.Unlock()
	for _, id := range ids {
		files, ok := fakeReceiveSandbox(c, fail)
		if !ok {
			return
		}
		f.mu.Lock()
		f.spooled[id] = files
		if j := f.find(id); j != nil && fail == "" {
			if code, _ := j.Int("HoldReasonCode"); code == holdSpoolingInput {
				j.SetInt("JobStatus", 1)
				j.Delete("HoldReasonCode")
				j.Delete("HoldReason")
			}
		}
		f.mu.Unlock()
	}
	c.PutInt(1)
	_ = c.EndMessage()
}

func fakeIDAd(cl, pr int64) *classad.Ad {
	ad := &classad.Ad{}
	ad.SetInt("ClusterId", cl)
	ad.SetInt("ProcId", pr)
	return ad
}

// fakeReceiveSandbox is the receiving side of one job's upload
// (FileTransfer::DoDownload on the schedd): the transfer info, then each
// entry (the go-aheads at the first), then the sender's acknowledgement,
// answered with ours: a failure with fail as its reason if it is set.
func fakeReceiveSandbox(c *cedar.Conn, fail string) (map[string]fakeSpooled, bool) {
	if _, err := c.GetInt(); err != nil { // final transfer
		return nil, false
	}
	if _, err := c.GetAd(); err != nil || c.FinishMessage() != nil { // SandboxSize
		return nil, false
	}
	files := map[string]fakeSpooled{}
	for first := true; ; first = false {
		cmd, err := c.GetInt()
		if err != nil || c.FinishMessage() != nil {
			return nil, false
		}
		if cmd == xferFinished {
			break
		}
		name, err := c.GetString()
		if err != nil || c.FinishMessage() != nil {
			return nil, false
		}
		if first && !fakeGrantUpload(c) {
			return nil, false
		}
		entry, ok := fakeReceiveEntry(c, cmd == xferMkdir)
		if !ok {
			return nil, false
		}
		files[name] = entry
	}
	if _, err := c.GetAd(); err != nil || c.FinishMessage() != nil { // the sender's acknowledgement
		return nil, false
	}
	ack := &classad.Ad{}
	ack.SetInt("Result", 0)
	if fail != "" {
		ack.SetInt("Result", 1)
		ack.SetString("HoldReason", fail)
	}
	c.PutAd(ack)
	return files, c.EndMessage() == nil
}

// fakeGrantUpload reads the sender's alive interval and go-ahead, and
// answers with the receiver's go-ahead and alive interval.
func fakeGrantUpload(c *cedar.Conn) bool {
	if _, err := c.GetInt(); err != nil || c.FinishMessage() != nil {
		return false
	}
	if _, err := c.GetAd(); err != nil || c.FinishMessage() != nil {
		return false
	}
	ok := &classad.Ad{}
	ok.SetInt("Result", goAheadAlways)
	c.PutAd(ok)
	if c.EndMessage() != nil {
		return false
	}
	c.PutInt(aliveInterval)
	return c.EndMessage() == nil
}

// fakeReceiveEntry reads a folder's mode, or a file's mode, header and
// chunks (a zero-length file ends with its marker).
func fakeReceiveEntry(c *cedar.Conn, dir bool) (fakeSpooled, bool) {
	mode, err := c.GetInt()
	if err != nil || c.FinishMessage() != nil {
		return fakeSpooled{}, false
	}
	if dir {
		return fakeSpooled{mode: mode, dir: true}, true
	}
	size, bufSize, err := fileHeader(c)
	if err != nil {
		return fakeSpooled{}, false
	}
	var body strings.Builder
	if receiveFile(c, &body, size, bufSize) != nil {
		return fakeSpooled{}, false
	}
	return fakeSpooled{body: body.String(), mode: mode}, true
}

// serveTransfer sends the output sandboxes of the completed jobs that
// match the client's constraint, then reads the client's final word.
func (f *fakeScheddServer) serveTransfer(c *cedar.Conn) {
	if _, err := c.GetString(); err != nil { // the client's version
		return
	}
	constraint, err := c.GetString()
	if err != nil || c.FinishMessage() != nil {
		return
	}
	e, err := classad.ParseExpr(constraint, classad.Old)
	if err != nil {
		return
	}
	f.mu.Lock()
	var ads []*classad.Ad
	var sandboxes [][]fakeFile
	for _, j := range f.queue {
		if st, _ := j.Int("JobStatus"); st == 4 && fakeMatch(e, j) {
			cl, _ := j.Int("ClusterId")
			pr, _ := j.Int("ProcId")
			ads = append(ads, fakeIDAd(cl, pr))
			sandboxes = append(sandboxes, f.output[fakeJobID(j)])
		}
	}
	f.mu.Unlock()
	c.PutInt(int64(len(ads)))
	if c.EndMessage() != nil {
		return
	}
	for i, ad := range ads {
		c.PutAd(ad)
		if c.EndMessage() != nil || fakeSendSandbox(c, sandboxes[i]) != nil || c.FinishMessage() != nil {
			return
		}
	}
	_, _ = c.GetInt() // the client's final word
	_ = c.FinishMessage()
}
