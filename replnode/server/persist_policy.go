package server

import (
	"fmt"
	"strconv"
	"strings"
)

// This file holds the pure decisions of RDB persistence: parsing `save`
// points and choosing when serverCron starts a background save. It reads
// no clock: times come in as arguments.

// bgsaveRetryDelayMs is Redis's CONFIG_BGSAVE_RETRY_DELAY: after a failed
// background save, save points wait this long before trying again.
const bgsaveRetryDelayMs = 5000

// savePoint is one `save <seconds> <changes>` pair.
type savePoint struct {
	Seconds int64
	Changes int64
}

// parseSavePoints parses the `save` directive's value: pairs of seconds and
// changes separated by spaces; "" means no save points.
func parseSavePoints(spec string) ([]savePoint, error) {
	fields := strings.Fields(spec)
	if len(fields)%2 != 0 {
		return nil, fmt.Errorf("invalid save parameters %q", spec)
	}
	var out []savePoint
	for i := 0; i < len(fields); i += 2 {
		sec, err1 := strconv.ParseInt(fields[i], 10, 64)
		chg, err2 := strconv.ParseInt(fields[i+1], 10, 64)
		if err1 != nil || err2 != nil || sec < 1 || chg < 0 {
			return nil, fmt.Errorf("invalid save parameters %q", spec)
		}
		out = append(out, savePoint{Seconds: sec, Changes: chg})
	}
	return out, nil
}

// saveClock is the persistence state the save-point decision needs.
type saveClock struct {
	Dirty        int64 // changes since the last successful save
	LastSaveMs   int64 // last successful save (or server start)
	LastTryMs    int64 // last background save attempt
	LastBgsaveOK bool  // status of the last background save
}

// dueSavePoint returns the first save point that is due at nowMs, as
// serverCron checks them: enough changes, strictly more than its seconds
// since the last save, and either the last background save succeeded or
// the retry delay has passed since it was tried.
func dueSavePoint(points []savePoint, st saveClock, nowMs int64) (savePoint, bool) {
	nowSec, lastSec, trySec := nowMs/1000, st.LastSaveMs/1000, st.LastTryMs/1000
	for _, p := range points {
		if st.Dirty >= p.Changes && nowSec-lastSec > p.Seconds &&
			(nowSec-trySec > bgsaveRetryDelayMs/1000 || st.LastBgsaveOK) {
			return p, true
		}
	}
	return savePoint{}, false
}
