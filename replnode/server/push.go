package server

// Pushes — pub/sub messages and (un)subscribe confirmations, keyspace
// notifications, tracking invalidations — reach a client even while its
// replies are suppressed by CLIENT REPLY OFF or SKIP, as Redis's
// CLIENT_PUSHING flag lets them through prepareClientToWrite. Replies are
// suppressed by cutting what a command wrote (dispatch.go callFrom); a
// push written to the client during its own command is recorded here so
// that cut keeps it.

// writePush writes one push to c with write and records it when c is
// executing its own command.
func (c *Client) writePush(write func()) {
	start := c.w.Len()
	write()
	if c.callDepth > 0 {
		c.pushSpans = append(c.pushSpans, [2]int{start, c.w.Len()})
	}
}

// dropReplies removes what a suppressed command wrote from offset from,
// keeping the pushes recorded since span firstPush, in order. They then
// count as one push for an enclosing EXEC that is suppressed too.
func (c *Client) dropReplies(from, firstPush int) {
	buf := c.w.Bytes()
	if from > len(buf) {
		// w was flushed during the command (a push to itself while its
		// replies were not suppressed): what went out is out.
		from = 0
	}
	end := from
	for _, sp := range c.pushSpans[firstPush:] {
		if sp[0] >= from {
			end += copy(buf[end:], buf[sp[0]:sp[1]])
		}
	}
	c.w.Truncate(end)
	c.pushSpans = c.pushSpans[:firstPush]
	if end > from {
		c.pushSpans = append(c.pushSpans, [2]int{from, end})
	}
}
