package server

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/replnode/replnode/replnode/fencing"
	"github.com/replnode/replnode/replnode/resp"
)

// This file is the I/O side of failover fencing (the protocol and the rule
// are package fencing's): the REPLNODE command, the node's epoch and its
// file, and which commands are fenced. Dispatch makes the check.

// fenceState is the node's failover epoch.
type fenceState struct {
	epoch int64
	// loadErr is why the epoch file could not be read at startup: the
	// node then refuses REPLNODE EPOCH and the binary exits (fenceLoader).
	loadErr error
	// dataLoss is the operator's grant to lose data in a full resync
	// (REPLNODE EPOCH <n> ACCEPT-DATA-LOSS; replica-keep-newer-data).
	dataLoss fencing.DataLossGrant
}

// keepNewerData reports whether this node, as a replica, refuses a full
// resync from a master behind it (package fencing, "Keeping newer data").
func (s *Server) keepNewerData() bool {
	return fencing.KeepNewerData(s.Config.Bool("replica-keep-newer-data"), s.fence.dataLoss, s.fence.epoch)
}

// dataLossUsed ends the grant: the node linked to a master.
func (s *Server) dataLossUsed() { s.fence.dataLoss = fencing.DataLossGrant{} }

// fencedCommands are the commands a connection acting for an older
// failover epoch may not run (see package fencing). "debug" covers every
// DEBUG subcommand. FAILOVER is not implemented yet: it is fenced from the
// day it is registered.
var fencedCommands = []string{
	"replicaof", "slaveof", "failover", "shutdown", "debug",
	"client|pause", "client|unpause", "client|kill", "config|set",
}

var markFencedOnce sync.Once

// markFenced sets FlagFenced on fencedCommands in the command table
// (TestFencedCommandsRegistered catches a misspelt name).
func markFenced() {
	for _, name := range fencedCommands {
		c := lookupCommandPath(name)
		if c == nil {
			continue
		}
		c.Flags |= FlagFenced
		for _, sub := range c.Subcommands {
			sub.Flags |= FlagFenced
		}
	}
}

func init() {
	register(&Command{Name: "replnode", Arity: -2, Group: "server", Hidden: true, Subcommands: []*Command{
		{Name: "epoch", Arity: -2, Flags: FlagAdmin | FlagNoScript | FlagLoading | FlagStale, Handler: replnodeEpochCommand},
		{Name: "help", Arity: 2, Flags: FlagLoading | FlagStale, Handler: replnodeHelpCommand},
	}})
	onNewServer(func(s *Server) {
		markFencedOnce.Do(markFenced)
		s.fence.epoch, s.fence.loadErr = readEpochFile(s.epochPath())
		if s.fence.loadErr != nil {
			// The binary stops before serving anything but -LOADING
			// (and REPLNODE EPOCH refuses meanwhile).
			s.OnStartupLoad(func() bool {
				s.Log.Warningf("Fatal error: cannot read the failover epoch: %v", s.fence.loadErr)
				return false
			})
		}
		s.OnConfigSet(func(name string) {
			// The epoch follows the data directory, where a restart
			// looks for it.
			if name != "dir" || s.fence.epoch == 0 || s.fence.loadErr != nil {
				return
			}
			if err := writeEpochFile(s.epochPath(), s.fence.epoch); err != nil {
				s.Log.Warningf("Failed persisting the failover epoch %d in the new dir: %v", s.fence.epoch, err)
			}
		})
	})
}

// checkFence refuses a fenced command (or an EXEC holding one) from a
// connection whose epoch is older than the node's. It returns the error
// reply, or "".
func (s *Server) checkFence(c *Client, fenced bool) string {
	if !fenced {
		return ""
	}
	if err := c.fence.Check(s.fence.epoch); err != nil {
		return err.Error()
	}
	return ""
}

// replnodeEpochCommand is REPLNODE EPOCH [<n> [ACCEPT-DATA-LOSS]].
func replnodeEpochCommand(ctx *Ctx) {
	s := ctx.S
	if len(ctx.Args) > 4 {
		ctx.ArityError()
		return
	}
	acceptLoss := len(ctx.Args) == 4
	if acceptLoss && !strings.EqualFold(string(ctx.Args[3]), "accept-data-loss") {
		ctx.Error("ERR syntax error")
		return
	}
	if s.fence.loadErr != nil {
		ctx.Error("ERR failover epoch unavailable: " + s.fence.loadErr.Error())
		return
	}
	if len(ctx.Args) == 2 {
		ctx.W.Int(s.fence.epoch)
		return
	}
	n, ok := resp.ParseInt(ctx.Args[2])
	if !ok || n < 0 {
		ctx.Error("ERR failover epoch must be a non-negative 64-bit integer")
		return
	}
	if err := fencing.Set(s.fence.epoch, n); err != nil {
		ctx.Error(err.Error())
		return
	}
	if n != s.fence.epoch {
		if err := writeEpochFile(s.epochPath(), n); err != nil {
			s.Log.Warningf("Failed persisting the failover epoch %d: %v", n, err)
			ctx.Error("ERR failed persisting the failover epoch: " + err.Error())
			return
		}
		s.fence.epoch = n
	}
	ctx.C.fence = fencing.Conn{Epoch: n, Set: true}
	if acceptLoss {
		s.fence.dataLoss = fencing.DataLossGrant{Epoch: n, Set: true}
	}
	if s.IsReplica() {
		// The link decides with the guard as it is now: a new epoch ends
		// an older grant, a grant lifts it — and a link that refused a
		// full resync then retries at once.
		r := s.repl()
		r.link.SetConfig(r.linkConfig())
		if acceptLoss {
			r.link.RetryNow(s.clock())
		}
	}
	ctx.W.OK()
}

func replnodeHelpCommand(ctx *Ctx) {
	replyHelp(ctx, "REPLNODE",
		"EPOCH [<epoch> [ACCEPT-DATA-LOSS]]",
		"    Without <epoch>, return the node's failover epoch (0 when never set).",
		"    With <epoch>, raise the node's failover epoch to <epoch> (persisted before",
		"    the reply) and make it this connection's: fails with STALEEPOCH when",
		"    <epoch> is older than the node's. On a connection that set an epoch,",
		"    REPLICAOF, SLAVEOF, CLIENT PAUSE|UNPAUSE|KILL, FAILOVER, CONFIG SET,",
		"    SHUTDOWN and DEBUG fail with STALEEPOCH once the node's epoch is newer.",
		"    ACCEPT-DATA-LOSS also lets this node, while its epoch is <epoch>, accept",
		"    one full resync that replaces data its master cannot contain (refused",
		"    with replica-keep-newer-data yes).",
	)
}

// epochPath is dir/replnode-epoch. As for the dump file, the binary has
// chdir'd into dir, so a relative dir means the current directory.
func (s *Server) epochPath() string {
	if dir := s.Config.String("dir"); filepath.IsAbs(dir) {
		return filepath.Join(dir, fencing.FileName)
	}
	return fencing.FileName
}

// readEpochFile reads the node's epoch: 0 when the file does not exist.
func readEpochFile(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := fencing.Parse(b)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}

// writeEpochFile replaces the epoch file atomically and durably: a
// temporary file in the same directory, fsynced, renamed over path, then
// the directory fsynced so the rename survives a crash. On error path
// keeps its old content.
func writeEpochFile(path string, epoch int64) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "temp-"+fencing.FileName+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(fencing.Encode(epoch)); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err = d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		// EINVAL: the filesystem does not fsync directories at all.
		return err
	}
	return nil
}
