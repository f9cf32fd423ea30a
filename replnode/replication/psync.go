package replication

import (
	"fmt"
	"strconv"
	"strings"
)

// ------ MASTER-SIDE PSYNC DECISION ------

// PSyncRequest is what a replica sent: PSYNC <ReplID> <Offset> (Offset is the
// raw argument, the first byte the replica is missing), whether it announced
// "capa psync2" earlier, and its name for log lines (ip:port).
type PSyncRequest struct {
	ReplID      string
	Offset      string
	CapaPSync2  bool
	ReplicaName string
}

// PSyncDecision is the outcome of a PSYNC request. When Partial is true the
// caller writes Reply, then Backlog, and puts the replica online; otherwise
// it starts (or joins) a full resync. Logs are the lines to write either way.
type PSyncDecision struct {
	Partial bool
	Reply   string // "+CONTINUE ...\r\n" when Partial
	Backlog []byte // the stream from the requested offset to the end
	Logs    []LogLine
}

// DecidePSync is Redis 7.0's masterTryPartialResynchronization: a partial
// resync is accepted when the requested ID is our current one, or our
// previous one with an offset not beyond SecondOffset, and the offset is
// still inside the backlog (b may be nil: no backlog). A replica that
// announced capa psync2 gets "+CONTINUE <replid>", others "+CONTINUE" (real
// redis-server 7.0 does exactly this; verified against it).
func DecidePSync(id Identity, b *Backlog, req PSyncRequest) PSyncDecision {
	var d PSyncDecision
	offset, err := strconv.ParseInt(req.Offset, 10, 64)
	if err != nil {
		// Redis treats an unparsable offset as a full resync request.
		d.Logs = append(d.Logs, LogLine{LevelNotice, fmt.Sprintf("Full resync requested by replica %s", req.ReplicaName)})
		return d
	}
	if !strings.EqualFold(req.ReplID, id.ReplID) &&
		(!strings.EqualFold(req.ReplID, id.ReplID2) || offset > id.SecondOffset) {
		switch {
		case strings.HasPrefix(req.ReplID, "?"):
			d.Logs = append(d.Logs, LogLine{LevelNotice, fmt.Sprintf("Full resync requested by replica %s", req.ReplicaName)})
		case !strings.EqualFold(req.ReplID, id.ReplID) && !strings.EqualFold(req.ReplID, id.ReplID2):
			d.Logs = append(d.Logs, LogLine{LevelNotice, fmt.Sprintf(
				"Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '%s', my replication IDs are '%s' and '%s')",
				req.ReplID, id.ReplID, id.ReplID2)})
		default:
			d.Logs = append(d.Logs, LogLine{LevelNotice, fmt.Sprintf(
				"Partial resynchronization not accepted: Requested offset for second ID was %d, but I can reply up to %d",
				offset, id.SecondOffset)})
		}
		return d
	}
	if b == nil || !b.Covers(offset) {
		d.Logs = append(d.Logs, LogLine{LevelNotice, fmt.Sprintf(
			"Unable to partial resync with replica %s for lack of backlog (Replica request was: %d).", req.ReplicaName, offset)})
		if offset > id.Offset {
			d.Logs = append(d.Logs, LogLine{LevelWarning, fmt.Sprintf(
				"Warning: replica %s tried to PSYNC with an offset that is greater than the master replication offset.", req.ReplicaName)})
		}
		return d
	}
	data, _ := b.ReadFrom(offset)
	d.Partial = true
	d.Backlog = data
	if req.CapaPSync2 {
		d.Reply = "+CONTINUE " + id.ReplID + "\r\n"
	} else {
		d.Reply = "+CONTINUE\r\n"
	}
	d.Logs = append(d.Logs, LogLine{LevelNotice, fmt.Sprintf(
		"Partial resynchronization request from %s accepted. Sending %d bytes of backlog starting from offset %d.",
		req.ReplicaName, len(data), offset)})
	return d
}

// FullResyncReply is the line a master sends before the RDB payload:
// "+FULLRESYNC <replid> <offset>\r\n", offset being the stream position the
// snapshot corresponds to.
func FullResyncReply(replID string, offset int64) string {
	return fmt.Sprintf("+FULLRESYNC %s %d\r\n", replID, offset)
}
