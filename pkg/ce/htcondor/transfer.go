package htcondor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cesub/cesub/internal/ownfile"
	"github.com/cesub/cesub/pkg/ce"
	"github.com/cesub/cesub/pkg/ce/dlfs"
	"github.com/cesub/cesub/pkg/cedar"
	"github.com/cesub/cesub/pkg/classad"
)

// File-transfer protocol (file_transfer.cpp).
const (
	xferFinished  = 0
	xferFile      = 1
	xferMkdir     = 6
	goAheadAlways = 2
	fileBufSize   = 262144 // AES_FILE_BUF_SZ: chunk size on an AES stream
	putFileEOM    = 666    // ends a zero-length file
	aliveInterval = 300
)

// inputFile is a file the client spools for a job.
type inputFile struct {
	local   string // path on this machine
	dest    string // name in the sandbox ("dir/name" inside a transferred directory)
	dir     bool
	mode    os.FileMode
	size    int64
	missing error // the file could not be found
}

// fileCache remembers, for one command, what the input files are: a
// thousand procs usually share the same few files.
type fileCache struct {
	mu    sync.Mutex
	stats map[string]statResult
	data  map[string][]byte
	held  int64
}

type statResult struct {
	fi  os.FileInfo
	err error
}

// fileCacheMax bounds the file contents kept in memory, fileCacheEach one file.
const (
	fileCacheMax  = 64 << 20
	fileCacheEach = 4 << 20
)

func (fc *fileCache) stat(p string) (os.FileInfo, error) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if r, ok := fc.stats[p]; ok {
		return r.fi, r.err
	}
	fi, err := os.Stat(p)
	if fc.stats == nil {
		fc.stats = map[string]statResult{}
	}
	fc.stats[p] = statResult{fi, err}
	return fi, err
}

// contents returns a small file's bytes, read once (nil for a large one).
func (fc *fileCache) contents(p string, size int64) ([]byte, error) {
	if size > fileCacheEach {
		return nil, nil
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if b, ok := fc.data[p]; ok {
		return b, nil
	}
	if fc.held+size > fileCacheMax {
		return nil, nil
	}
	b, err := readRegular(p)
	if err != nil {
		return nil, err
	}
	if int64(len(b)) != size {
		return nil, fmt.Errorf("%s changed while being sent (%d bytes, was %d)", p, len(b), size)
	}
	if fc.data == nil {
		fc.data = map[string][]byte{}
	}
	fc.data[p] = b
	fc.held += size
	return b, nil
}

// inputFiles lists what condor_submit -spool sends for a job ad:
// TransferInput, the stdin file, the proxy, and the executable unless
// TransferExecutable is false (FileTransfer::SimpleInit); URLs are fetched
// by the execute side and skipped.
func (c *Client) inputFiles(ad *classad.Ad) []inputFile {
	iwd, _ := ad.Str("Iwd")
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(iwd, p)
	}
	var names []string
	if v, ok := ad.Str("TransferInput"); ok && v != "" {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				names = append(names, f)
			}
		}
	}
	if v, ok := ad.Str("In"); ok && v != "" && v != "/dev/null" {
		names = append(names, v)
	}
	if v, ok := ad.Str("x509userproxy"); ok && v != "" {
		names = append(names, v)
	}
	if xfer, ok := ad.Bool("TransferExecutable"); !ok || xfer {
		if v, ok := ad.Str("Cmd"); ok && v != "" {
			names = append(names, v)
		}
	}
	seen := map[string]bool{}
	var out []inputFile
	for _, n := range names {
		if strings.Contains(n, "://") || seen[n] {
			continue
		}
		seen[n] = true
		local := abs(n)
		fi, err := c.files.stat(local)
		if err == nil && fi.IsDir() {
			// "dir/" sends the contents, "dir" the directory itself
			base := path.Base(filepath.ToSlash(strings.TrimRight(n, "/")))
			prefix := base
			if strings.HasSuffix(n, "/") {
				prefix = ""
			} else {
				out = append(out, inputFile{local: local, dest: base, dir: true, mode: fi.Mode().Perm()})
			}
			_ = filepath.WalkDir(local, func(p string, d fs.DirEntry, err error) error {
				rel, _ := filepath.Rel(local, p)
				dest := path.Join(prefix, filepath.ToSlash(rel))
				if err != nil {
					// unreadable: refused before anything is sent, never
					// silently left out of the sandbox
					out = append(out, inputFile{local: p, dest: dest, missing: err})
					return nil
				}
				if p == local {
					return nil
				}
				info, err := d.Info()
				if err == nil && d.Type()&fs.ModeSymlink != 0 {
					// as HTCondor's file transfer: a link to a file sends the
					// file; a link to a directory is refused
					if info, err = os.Stat(p); err != nil {
						err = fmt.Errorf("a symbolic link that leads nowhere: %w", err)
					} else if info.IsDir() {
						err = errors.New("a symbolic link to a directory (HTCondor's file transfer does not send those)")
					}
				}
				if err != nil {
					out = append(out, inputFile{local: p, dest: dest, missing: err})
					return nil
				}
				if d.IsDir() {
					out = append(out, inputFile{local: p, dest: dest, dir: true, mode: info.Mode().Perm()})
				} else if info.Mode().IsRegular() {
					out = append(out, inputFile{local: p, dest: dest, mode: info.Mode().Perm(), size: info.Size()})
				} else {
					out = append(out, inputFile{local: p, dest: dest, missing: notRegular(p, info)})
				}
				return nil
			})
			continue
		}
		f := inputFile{local: local, dest: filepath.Base(local), missing: err}
		if err == nil && !fi.Mode().IsRegular() {
			f.missing = notRegular(local, fi)
		} else if err == nil {
			f.mode, f.size = fi.Mode().Perm(), fi.Size()
		}
		out = append(out, f)
	}
	return out
}

// spoolJob is one created proc and the input files it spools (listed once,
// when the transaction checks they exist).
type spoolJob struct {
	ad            *classad.Ad // the job ad, while it is being sent (nil afterwards)
	cluster, proc int64
	out, errName  string // stdout and stderr as named in the ad
	files         []inputFile
}

// spoolReadBatching is the longest a spool's reader waits before a read
// (cedar.Conn.SetReadBatching, which shortens the wait while the answers
// stream in fast). On the 2-core testbed, 1,000 procs' answers cost the
// client 110-160 ms of CPU read one by one, as the schedd's two spool
// workers needed both cores; a fixed 2 ms wait still cost ~100 ms when the
// CE was loaded (a read for every answer or two); see bench/htcondor.sh.
const spoolReadBatching = 16 * time.Millisecond

// spoolBatchingFrom is the number of jobs on one spool connection from which
// its answers are read in batches.
const spoolBatchingFrom = 50

// spoolConnections is how many spool connections a submission of n procs
// uses: the schedd serves each in its own forked worker, which is bound by
// the CE's CPU. On the 2-core testbed 2 beat 4 and 8 for 1,000 procs
// (bench/htcondor.sh); beyond 2,000 the schedd's per-connection overhead is
// small enough for 4.
func spoolConnections(n int) int {
	switch {
	case n >= 2000:
		return 4
	case n >= 200:
		return 2
	}
	return 1
}

// spoolParallel spools over spoolConnections(len(jobs)) connections at
// once, using the ones in pre (set up while the transaction ran) where
// their handshake succeeded.
func (c *Client) spoolParallel(ctx context.Context, jobs []spoolJob, progress func(string, string, int64, int64), pre preDialed) error {
	n := spoolConnections(len(jobs))
	var mu sync.Mutex
	var wg sync.WaitGroup
	var first error
	per := (len(jobs) + n - 1) / n
	for i, start := 0, 0; start < len(jobs); i, start = i+1, start+per {
		part := jobs[start:min(start+per, len(jobs))]
		conn := pre.take(i)
		if conn == nil && i < len(pre) && pre[i].err != nil {
			c.debugf("spool connection %d made beforehand failed (%v); connecting again", i, pre[i].err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			defer func() {
				c.debugf("spool connection %d: %d procs in %s", i, len(part), time.Since(t0).Round(time.Millisecond))
			}()
			err := c.spool(ctx, part, func(a, b string, x, y int64) {
				if progress != nil {
					mu.Lock()
					progress(a, b, x, y)
					mu.Unlock()
				}
			}, conn)
			mu.Lock()
			if err != nil && first == nil {
				first = err
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	pre.close()
	return first
}

// preDialed is the spool connections being set up in the background.
type preDialed []*dialing

// preDialSpool starts the spool connections while the transaction runs;
// they resume the QMGMT connection's security session, which the schedd
// answers once the transaction is over, so that spooling starts as soon
// as the commit is answered.
func (c *Client) preDialSpool(ctx context.Context, jobs int) preDialed {
	p := make(preDialed, spoolConnections(jobs))
	for i := range p {
		p[i] = c.dialAhead(ctx, cedar.CmdSpoolJobFilesPerm)
	}
	return p
}

// take hands over connection i (nil if there is none or it failed).
func (p preDialed) take(i int) *cedar.Conn {
	if i >= len(p) {
		return nil
	}
	return p[i].take()
}

// close closes the connections not taken.
func (p preDialed) close() {
	for _, d := range p {
		d.close()
	}
}

// workConn connects for long work (a QMGMT session, a sandbox transfer):
// the handshake is bounded by the client's timeout, the work then by the
// idle limit the caller sets (it goes on as long as data moves).
func (c *Client) workConn(ctx context.Context, cmd int) (*cedar.Conn, error) {
	hctx, cancel := c.ctxTimeout(ctx)
	defer cancel()
	conn, _, err := c.scheddConn(hctx, cmd)
	if err != nil {
		return nil, err
	}
	conn.SetContext(ctx)
	return conn, nil
}

// spool uploads the input sandboxes of freshly submitted jobs
// (SPOOL_JOB_FILES_WITH_PERMS); the schedd then releases them. The uploads
// are pipelined: every job's stream is written without waiting for the
// schedd's go-ahead and acknowledgement messages, which a reader consumes
// alongside (the go-ahead is always granted up front here; a refusal ends
// the exchange with an error).
func (c *Client) spool(ctx context.Context, jobs []spoolJob, progress func(string, string, int64, int64), conn *cedar.Conn) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if conn == nil {
		var err error
		if conn, err = c.workConn(ctx, cedar.CmdSpoolJobFilesPerm); err != nil {
			return err
		}
	} else {
		conn.SetContext(ctx)
	}
	conn.SetIdleTimeout(c.timeout)
	defer conn.Close()
	// the schedd answers every job (go-ahead, acknowledgement) while the
	// uploads stream: for many jobs, read those answers in batches, so that
	// the client does not take CPU from the schedd's spool workers to chase
	// each one (a few jobs' answers are read at once: each wait would add
	// to the submission's time)
	if len(jobs) >= spoolBatchingFrom {
		conn.SetReadBatching(spoolReadBatching)
	}
	conn.PutString(cedar.Version)
	conn.PutInt(int64(len(jobs)))
	if err := conn.EndMessage(); err != nil {
		return err
	}
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		conn.PutInt(j.cluster)
		conn.PutInt(j.proc)
		ids[i] = fmt.Sprintf("%d.%d", j.cluster, j.proc)
	}
	if err := conn.EndMessage(); err != nil {
		return err
	}
	write := func() error {
		for i, j := range jobs {
			id := ids[i]
			if err := c.upload(conn, j.files, func(name string, n int64) {
				if progress != nil {
					progress(id, name, n, n)
				}
			}); err != nil {
				return fmt.Errorf("job %s: %w", id, err)
			}
		}
		return nil
	}
	read := func() error {
		for i, j := range jobs {
			if err := uploadReplies(conn, len(j.files) > 0); err != nil {
				return fmt.Errorf("job %s: %w", ids[i], err)
			}
		}
		reply, err := conn.GetInt()
		if err != nil {
			return fmt.Errorf("spool: reading the schedd's answer: %w", err)
		}
		_ = conn.FinishMessage()
		if reply != 1 {
			return fmt.Errorf("the schedd did not accept the spooled files (reply %d)", reply)
		}
		return nil
	}
	return conn.Pipeline(write, read)
}

// upload writes one job's files (FileTransfer::DoUpload, client side,
// simple init); uploadReplies reads what the schedd answers to it.
func (c *Client) upload(conn *cedar.Conn, files []inputFile, done func(string, int64)) error {
	var total int64
	for _, f := range files {
		total += f.size
	}
	conn.PutInt(0) // not the final transfer
	info := &classad.Ad{}
	info.SetInt("SandboxSize", total)
	conn.PutAd(info)
	if err := conn.EndMessage(); err != nil {
		return err
	}
	for i, f := range files {
		cmd := int64(xferFile)
		if f.dir {
			cmd = xferMkdir
		}
		conn.PutInt(cmd)
		if err := conn.EndMessage(); err != nil {
			return err
		}
		conn.PutString(f.dest)
		if err := conn.EndMessage(); err != nil {
			return err
		}
		if i == 0 {
			// go-ahead: our alive interval (the receiver answers with its
			// go-ahead), then ours, granted for all files
			conn.PutInt(aliveInterval)
			if err := conn.EndMessage(); err != nil {
				return err
			}
			if err := putGoAhead(conn); err != nil {
				return err
			}
		}
		if f.dir {
			conn.PutInt(int64(f.mode))
			if err := conn.EndMessage(); err != nil {
				return err
			}
			continue
		}
		n, err := c.putFile(conn, f)
		if err != nil {
			return fmt.Errorf("%s: %w", f.dest, err)
		}
		done(f.dest, n)
	}
	conn.PutInt(xferFinished)
	if err := conn.EndMessage(); err != nil {
		return err
	}
	ack := &classad.Ad{}
	ack.SetInt("Result", 0)
	conn.PutAd(ack)
	return conn.EndMessage()
}

// uploadReplies reads the receiver's side of one upload: its go-ahead and
// alive interval (when there were files), then its acknowledgement.
func uploadReplies(conn *cedar.Conn, hadFiles bool) error {
	if hadFiles {
		if err := receiveGoAhead(conn); err != nil {
			return err
		}
		if _, err := conn.GetInt(); err != nil { // the receiver's alive interval
			return fmt.Errorf("go-ahead: %w", err)
		}
		if err := conn.FinishMessage(); err != nil {
			return err
		}
	}
	peer, err := conn.GetAd()
	if err != nil {
		return fmt.Errorf("reading the transfer acknowledgement: %w", err)
	}
	_ = conn.FinishMessage()
	if r, _ := peer.Int("Result"); r != 0 {
		reason, _ := peer.Str("HoldReason")
		return fmt.Errorf("the schedd failed to receive the files: %s", orUnknownReason(reason))
	}
	return nil
}

func orUnknownReason(s string) string {
	if s == "" {
		return "no reason given"
	}
	return s
}

// downloaderGoAhead: ours first (after the sender's alive interval), then
// our alive interval and the sender's go-ahead.
func downloaderGoAhead(conn *cedar.Conn) error {
	if _, err := conn.GetInt(); err != nil { // the sender's alive interval
		return fmt.Errorf("go-ahead: %w", err)
	}
	if err := conn.FinishMessage(); err != nil {
		return err
	}
	if err := putGoAhead(conn); err != nil {
		return err
	}
	conn.PutInt(aliveInterval)
	if err := conn.EndMessage(); err != nil {
		return err
	}
	return receiveGoAhead(conn)
}

func receiveGoAhead(conn *cedar.Conn) error {
	for {
		msg, err := conn.GetAd()
		if err != nil {
			return fmt.Errorf("go-ahead: %w", err)
		}
		if err := conn.FinishMessage(); err != nil {
			return err
		}
		r, ok := msg.Int("Result")
		if !ok {
			return errors.New("go-ahead message without Result")
		}
		if r == 0 { // pending (e.g. a new timeout): wait for the next
			continue
		}
		if r < 0 {
			reason, _ := msg.Str("HoldReason")
			return fmt.Errorf("the peer refused the transfer: %s", orUnknownReason(reason))
		}
		return nil
	}
}

// putGoAhead grants the peer the go-ahead for this and all further files.
func putGoAhead(conn *cedar.Conn) error {
	msg := &classad.Ad{}
	msg.SetInt("Result", goAheadAlways)
	conn.PutAd(msg)
	return conn.EndMessage()
}

// Get implements ce.Backend: the job's output sandbox
// (TRANSFER_DATA_WITH_PERMS), written into opts.Dir (default the
// cluster.proc id): a folder it creates, or one an interrupted get of the
// same job left (see dlfs).
func (c *Client) Get(ctx context.Context, id string, opts ce.GetOptions) (*ce.GetResult, error) {
	cl, pr, err := parseProcID(id)
	if err != nil {
		return nil, err
	}
	if err := c.checkToken(ctx, "status"); err != nil {
		return nil, err
	}
	dir := opts.Dir
	if dir == "" {
		dir = id
	}
	d, err := dlfs.Open(dir, c.JobID(id))
	if err != nil {
		return nil, err
	}
	res := &ce.GetResult{Dir: dir}
	n, err := c.transferData(ctx, fmt.Sprintf("ClusterId == %d && ProcId == %d", cl, pr), 1, d, func(name string, size int64) {
		res.Files++
		res.Bytes += size
		if opts.Progress != nil {
			opts.Progress(name, size)
		}
	})
	if err == nil && n == 0 {
		err = fmt.Errorf("%s: %w in the schedd's queue, or its output is not ready (the job has not completed)", c.JobID(id), ce.ErrNotFound)
	}
	if err != nil {
		d.Close()
		return res, err
	}
	return res, d.Done()
}

// transferData fetches the output sandboxes of the jobs matching
// constraint (at most asked) into d; it returns how many jobs came.
func (c *Client) transferData(ctx context.Context, constraint string, asked int, d *dlfs.Dir, done func(string, int64)) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	conn, err := c.workConn(ctx, cedar.CmdTransferDataPerm)
	if err != nil {
		return 0, err
	}
	conn.SetIdleTimeout(c.timeout)
	defer conn.Close()
	conn.PutString(cedar.Version)
	conn.PutString(constraint)
	if err := conn.EndMessage(); err != nil {
		return 0, err
	}
	n, err := conn.GetInt32()
	if err != nil {
		return 0, fmt.Errorf("transfer: %w", err)
	}
	_ = conn.FinishMessage()
	if n < 0 || n > asked {
		return 0, fmt.Errorf("transfer: %s offers the output of %d jobs; %d asked", conn.Peer(), n, asked)
	}
	for i := 0; i < n; i++ {
		ad, err := conn.GetAd()
		if err != nil {
			return i, fmt.Errorf("transfer: job ad: %w", err)
		}
		_ = conn.FinishMessage()
		cl, _ := ad.Int("ClusterId")
		pr, _ := ad.Int("ProcId")
		id := fmt.Sprintf("%d.%d", cl, pr)
		if err := download(conn, d, done); err != nil {
			return i, fmt.Errorf("job %s: %w", id, err)
		}
	}
	conn.PutInt(1)
	if err := conn.EndMessage(); err != nil {
		return n, err
	}
	return n, nil
}

// maxSandboxEntries bounds the files and folders of one job's output.
const maxSandboxEntries = 100000

// download receives one job's files (FileTransfer::DoDownload, client side).
func download(conn *cedar.Conn, d *dlfs.Dir, done func(string, int64)) error {
	if _, err := conn.GetInt(); err != nil { // final transfer flag
		return err
	}
	if _, err := conn.GetAd(); err != nil { // transfer info (SandboxSize)
		return err
	}
	if err := conn.FinishMessage(); err != nil {
		return err
	}
	goAhead := false
	for entries := 0; ; entries++ {
		if entries > maxSandboxEntries {
			return fmt.Errorf("%s sent more than %d files and folders (the limit for one job)", conn.Peer(), maxSandboxEntries)
		}
		cmd, err := conn.GetInt()
		if err != nil {
			return err
		}
		if err := conn.FinishMessage(); err != nil {
			return err
		}
		if cmd == xferFinished {
			break
		}
		if cmd != xferFile && cmd != xferMkdir {
			return fmt.Errorf("the schedd sent transfer command %d, which cesub does not handle", cmd)
		}
		name, err := conn.GetString()
		if err != nil {
			return err
		}
		if err := conn.FinishMessage(); err != nil {
			return err
		}
		if err := dlfs.CheckName(name); err != nil {
			return fmt.Errorf("%w from the schedd", err)
		}
		if !goAhead {
			if err := downloaderGoAhead(conn); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			goAhead = true
		}
		mode, err := conn.GetInt()
		if err != nil {
			return err
		}
		if err := conn.FinishMessage(); err != nil {
			return err
		}
		if cmd == xferMkdir {
			if err := d.Mkdir(name); err != nil {
				return err
			}
			continue
		}
		n, err := getFile(conn, d, name, mode)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		done(name, n)
	}
	peer, err := conn.GetAd()
	if err != nil {
		return fmt.Errorf("reading the transfer acknowledgement: %w", err)
	}
	_ = conn.FinishMessage()
	ack := &classad.Ad{}
	ack.SetInt("Result", 0)
	conn.PutAd(ack)
	if err := conn.EndMessage(); err != nil {
		return err
	}
	if r, _ := peer.Int("Result"); r != 0 {
		reason, _ := peer.Str("HoldReason")
		return fmt.Errorf("the schedd failed to send the files: %s", orUnknownReason(reason))
	}
	return nil
}

// safeJoin refuses names that would leave the download directory.
func safeJoin(dir, name string) (string, error) {
	clean := path.Clean("/" + filepath.ToSlash(name))
	if name == "" || strings.Contains(name, "\x00") || clean == "/" || strings.Contains(name, "\\") {
		return "", fmt.Errorf("unsafe file name %q from the schedd", name)
	}
	for _, part := range strings.Split(filepath.ToSlash(name), "/") {
		if part == ".." {
			return "", fmt.Errorf("unsafe file name %q from the schedd", name)
		}
	}
	return filepath.Join(dir, filepath.FromSlash(clean[1:])), nil
}

// getFile receives one file (ReliSock::get_file on an AES stream) into d
// as name, with the schedd's mode at most dlfs.MaxMode.
func getFile(conn *cedar.Conn, d *dlfs.Dir, name string, mode int64) (int64, error) {
	size, bufSize, err := fileHeader(conn)
	if err != nil {
		return 0, err
	}
	out, err := d.Create(name, size, false)
	if err != nil {
		return 0, err
	}
	if err := receiveFile(conn, out, size, bufSize); err != nil {
		out.Abort()
		return 0, err
	}
	return size, out.Commit(fileMode(mode))
}

// fileMode is the schedd's mode for a file, at most dlfs.MaxMode.
func fileMode(mode int64) os.FileMode {
	if mode > 0 && mode < 0o10000 {
		return os.FileMode(mode) & dlfs.MaxMode
	}
	return 0o644
}

// fileHeader reads a file's size and chunk size.
func fileHeader(conn *cedar.Conn) (size, bufSize int64, err error) {
	if size, err = conn.GetInt(); err != nil {
		return 0, 0, err
	}
	if bufSize, err = conn.GetInt(); err != nil {
		return 0, 0, err
	}
	if err := conn.FinishMessage(); err != nil {
		return 0, 0, err
	}
	if size < 0 || bufSize <= 0 || bufSize > cedar.MaxPacket {
		return 0, 0, fmt.Errorf("bad file header (size %d, chunk %d)", size, bufSize)
	}
	return size, bufSize, nil
}

// receiveFile copies size bytes in chunks of at most bufSize to out.
func receiveFile(conn *cedar.Conn, out io.Writer, size, bufSize int64) error {
	var got int64
	for got < size {
		b, err := conn.GetBytes(int(min(bufSize, size-got)))
		if err != nil {
			return err
		}
		if err := conn.FinishMessage(); err != nil {
			return err
		}
		if _, err := out.Write(b); err != nil {
			return err
		}
		got += int64(len(b))
	}
	if size == 0 {
		if eom, err := conn.GetInt(); err != nil || eom != putFileEOM {
			return fmt.Errorf("zero-length file marker missing")
		}
		_ = conn.FinishMessage()
	}
	return nil
}

// putFile sends the mode, then the file in chunks
// (ReliSock::put_file_with_permissions on an AES stream). Small files are
// read once per command however many procs send them.
func (c *Client) putFile(conn *cedar.Conn, f inputFile) (int64, error) {
	if f.missing != nil {
		return 0, f.missing
	}
	data, err := c.files.contents(f.local, f.size)
	if err != nil {
		return 0, err
	}
	var in *os.File
	size := f.size
	mode := f.mode
	if data == nil {
		var fi os.FileInfo
		if in, fi, err = ownfile.Open(f.local); err != nil { // a FIFO put there since would block
			return 0, err
		}
		defer in.Close()
		size, mode = fi.Size(), fi.Mode().Perm()
	}
	conn.PutInt(int64(mode))
	if err := conn.EndMessage(); err != nil {
		return 0, err
	}
	conn.PutInt(size)
	conn.PutInt(fileBufSize)
	if err := conn.EndMessage(); err != nil {
		return 0, err
	}
	var buf []byte
	if data == nil {
		buf = make([]byte, min(int64(fileBufSize), max(size, 1)))
	}
	var sent int64
	for sent < size {
		n := int(min(int64(fileBufSize), size-sent))
		var chunk []byte
		if data != nil {
			chunk = data[sent : sent+int64(n)]
		} else {
			if _, err := io.ReadFull(in, buf[:n]); err != nil {
				return sent, fmt.Errorf("reading %s: %w", f.local, err)
			}
			chunk = buf[:n]
		}
		conn.PutBytes(chunk)
		if err := conn.EndMessage(); err != nil {
			return sent, err
		}
		sent += int64(n)
	}
	if size == 0 {
		conn.PutInt(putFileEOM)
		if err := conn.EndMessage(); err != nil {
			return 0, err
		}
	}
	return sent, nil
}

// sendable refuses an input that is neither a regular file nor a directory
// (a FIFO would block the transfer in open(), past --timeout and signals).
func sendable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() && !fi.IsDir() {
		return notRegular(p, fi)
	}
	return nil
}

func notRegular(p string, fi os.FileInfo) error {
	return fmt.Errorf("%s is %s, not a regular file or directory", p, ownfile.TypeName(fi.Mode()))
}

// readRegular reads a regular file through one descriptor, refusing
// anything else without blocking.
func readRegular(p string) ([]byte, error) {
	f, _, err := ownfile.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}
