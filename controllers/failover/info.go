package failover

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ------ INFO REPLICATION PARSING ------

// ParseInfoReplication turns the text of INFO replication (as replnode and
// redis-server 7.0 print it, "\r\n" or "\n" separated) into a Replication.
// role, master_replid and master_repl_offset are required; a malformed
// number is an error naming the field. Unknown fields are ignored, so newer
// servers parse too. When the text also holds the Keyspace section (INFO
// replication keyspace persistence), Empty says whether it lists no key,
// and Loading whether the node is still loading its files.
func ParseInfoReplication(text string) (Replication, error) {
	r := Replication{SecondReplOffset: NoSecondOffset, LinkDownSeconds: -1, LastIOSeconds: -1, GoodReplicas: -1}
	seen := map[string]bool{}
	keyspaceListed, keys := false, false
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "# Keyspace" {
			keyspaceListed = true
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			return Replication{}, fmt.Errorf("INFO replication: line %q has no ':'", line)
		}
		seen[key] = true
		var err error
		switch key {
		case "role":
			switch value {
			case "master":
				r.Role = RoleMaster
			case "slave":
				r.Role = RoleReplica
			default:
				return Replication{}, fmt.Errorf("INFO replication: unknown role %q", value)
			}
		case "master_replid":
			r.ReplID = value
		case "master_replid2":
			r.ReplID2 = value
		case "master_repl_offset":
			r.Offset, err = parseInt64(key, value)
		case "second_repl_offset":
			r.SecondReplOffset, err = parseInt64(key, value)
		case "master_link_status":
			switch value {
			case "up":
				r.LinkStatus = LinkUp
			case "down":
				r.LinkStatus = LinkDown
			default:
				return Replication{}, fmt.Errorf("INFO replication: unknown master_link_status %q", value)
			}
		case "master_host":
			r.MasterHost = value
		case "master_port":
			var port int64
			port, err = parseInt64(key, value)
			r.MasterPort = int(port)
		case "master_link_down_since_seconds":
			r.LinkDownSeconds, err = parseInt64(key, value)
		case "master_last_io_seconds_ago":
			r.LastIOSeconds, err = parseInt64(key, value)
		case "master_sync_in_progress":
			r.SyncInProgress = value == "1"
		case "loading":
			r.Loading = value == "1"
		case "repl_backlog_active":
			r.BacklogActive = value == "1"
		case "repl_backlog_first_byte_offset":
			r.BacklogFirstByte, err = parseInt64(key, value)
		case "repl_backlog_histlen":
			r.BacklogHistLen, err = parseInt64(key, value)
		case "min_slaves_good_slaves":
			r.GoodReplicas, err = parseInt64(key, value)
		case "master_no_contact_ms":
			r.NoContactMs, err = parseInt64(key, value)
		case "min_replicas_guard_ms":
			r.Guard.Reported, r.Guard.Ms = true, value == "1"
		case "min_replicas_guard_to_write":
			var w int64
			w, err = parseInt64(key, value)
			r.Guard.ToWrite = int(w)
		case "min_replicas_guard_max_lag_ms":
			var ms int64
			ms, err = parseInt64(key, value)
			r.Guard.MaxLag = time.Duration(ms) * time.Millisecond
		default:
			if keyspaceListed && strings.HasPrefix(key, "db") {
				// db<N>:keys=<n>,expires=..., listed only when n > 0; a
				// line that does not parse counts as data, never as none.
				n, ok := strings.CutPrefix(strings.Split(value, ",")[0], "keys=")
				if v, perr := strconv.ParseInt(n, 10, 64); !ok || perr != nil || v != 0 {
					keys = true
				}
			}
		}
		if err != nil {
			return Replication{}, err
		}
	}
	r.Empty = keyspaceListed && !keys && !r.Loading
	for _, required := range []string{"role", "master_replid", "master_repl_offset"} {
		if !seen[required] {
			return Replication{}, fmt.Errorf("INFO replication: missing field %s", required)
		}
	}
	return r, nil
}

// parseInt64 parses one numeric INFO field, naming it in the error.
func parseInt64(key, value string) (int64, error) {
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("INFO replication: field %s: %q is not an integer", key, value)
	}
	return n, nil
}
