package server

import "sort"

// ---------------------------------------------------------------- sharded pub/sub
//
// SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH and PUBSUB SHARDCHANNELS|SHARDNUMSUB
// as a standalone Redis 7.0 runs them (pubsub.c, pubSubShardType): shard
// channels are a namespace of their own, never matched by patterns; a
// client's shard subscriptions are counted apart in its (un)subscribe
// replies but keep it in the subscribed context; SPUBLISH reaches replicas.

func init() {
	register(
		&Command{Name: "ssubscribe", Arity: -2, Flags: FlagPubSub | FlagNoScript | FlagLoading | FlagStale, Group: "pubsub", FirstKey: 1, LastKey: -1, Step: 1, Handler: ssubscribeCommand},
		&Command{Name: "sunsubscribe", Arity: -1, Flags: FlagPubSub | FlagNoScript | FlagLoading | FlagStale, Group: "pubsub", FirstKey: 1, LastKey: -1, Step: 1, Handler: sunsubscribeCommand},
		&Command{Name: "spublish", Arity: 3, Flags: FlagPubSub | FlagLoading | FlagStale | FlagFast | FlagMayReplicate, Group: "pubsub", FirstKey: 1, LastKey: 1, Step: 1, Handler: spublishCommand},
	)
}

// writeShardSubReply writes an ssubscribe / sunsubscribe confirmation
// with the client's shard subscription count.
func writeShardSubReply(c *Client, kind string, name []byte, nullName bool) {
	c.w.PushLen(3)
	c.w.BulkString(kind)
	if nullName {
		c.w.Null()
	} else {
		c.w.Bulk(name)
	}
	c.w.Int(int64(len(c.shardChannels)))
}

func ssubscribeCommand(ctx *Ctx) {
	s, c := ctx.S, ctx.C
	if ctx != &c.ctx {
		// Inside EXEC (CLIENT_DENY_BLOCKING): unlike SUBSCRIBE, no
		// exception for transactions.
		ctx.Error("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client")
		return
	}
	if c.shardChannels == nil {
		c.shardChannels = map[string]struct{}{}
	}
	for _, ch := range ctx.Args[1:] {
		name := string(ch)
		if _, ok := c.shardChannels[name]; !ok {
			c.shardChannels[name] = struct{}{}
			set := s.pubsub.shard[name]
			if set == nil {
				set = map[*Client]struct{}{}
				s.pubsub.shard[name] = set
			}
			set[c] = struct{}{}
		}
		writeShardSubReply(c, "ssubscribe", ch, false)
	}
	c.updatePubSubFlag()
}

// unsubscribeShardChannel removes one shard channel subscription.
func (s *Server) unsubscribeShardChannel(c *Client, name string, notify bool) {
	if _, ok := c.shardChannels[name]; ok {
		delete(c.shardChannels, name)
		if set := s.pubsub.shard[name]; set != nil {
			delete(set, c)
			if len(set) == 0 {
				delete(s.pubsub.shard, name)
			}
		}
	}
	if notify {
		writeShardSubReply(c, "sunsubscribe", []byte(name), false)
	}
}

func sunsubscribeCommand(ctx *Ctx) {
	s, c := ctx.S, ctx.C
	if len(ctx.Args) == 1 {
		if len(c.shardChannels) == 0 {
			writeShardSubReply(c, "sunsubscribe", nil, true)
		}
		for _, name := range sortedKeys(c.shardChannels) {
			s.unsubscribeShardChannel(c, name, true)
		}
	} else {
		for _, ch := range ctx.Args[1:] {
			s.unsubscribeShardChannel(c, string(ch), true)
		}
	}
	c.updatePubSubFlag()
}

// publishShard delivers a message to a shard channel's subscribers (no
// pattern matching) and returns how many received it.
func (s *Server) publishShard(channel, message []byte) int {
	n := 0
	for c := range s.pubsub.shard[string(channel)] {
		c.w.PushLen(3)
		c.w.BulkString("smessage")
		c.w.Bulk(channel)
		c.w.Bulk(message)
		c.Flush()
		n++
	}
	s.stats.PubsubChannelsSent += int64(n)
	return n
}

func spublishCommand(ctx *Ctx) {
	n := ctx.S.publishShard(ctx.Args[1], ctx.Args[2])
	// Standalone: forceCommandPropagation(PROPAGATE_REPL), as PUBLISH.
	ctx.Propagate(ctx.Args...)
	ctx.W.Int(int64(n))
}

func pubsubShardChannelsCommand(ctx *Ctx) {
	if len(ctx.Args) > 3 {
		// At most one pattern, as PUBSUB CHANNELS.
		ctx.Errorf("ERR unknown subcommand or wrong number of arguments for '%s'. Try PUBSUB HELP.", ctx.Args[1])
		return
	}
	var names []string
	for name := range ctx.S.pubsub.shard {
		if len(ctx.Args) == 2 || globMatch(ctx.Args[2], []byte(name), false) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	ctx.W.ArrayLen(len(names))
	for _, n := range names {
		ctx.W.BulkString(n)
	}
}

// pubsubShardNumsubCommand replies channel, count pairs as a flat array,
// like NUMSUB.
func pubsubShardNumsubCommand(ctx *Ctx) {
	ctx.W.ArrayLen(2 * (len(ctx.Args) - 2))
	for _, ch := range ctx.Args[2:] {
		ctx.W.Bulk(ch)
		ctx.W.Int(int64(len(ctx.S.pubsub.shard[string(ch)])))
	}
}
