package server

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
	writeSubscriptionPush(c, kind, name, nullName, len(c.shardChannels))
}

func ssubscribeCommand(ctx *Ctx) {
	s, c := ctx.S, ctx.C
	if ctx != &c.ctx {
		// Inside EXEC (CLIENT_DENY_BLOCKING): unlike SUBSCRIBE, no
		// exception for transactions.
		ctx.Error("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client")
		return
	}
	for _, ch := range ctx.Args[1:] {
		s.pubsub.shard.subscribe(&c.shardChannels, c, string(ch))
		c.updatePubSubFlag()
		writeShardSubReply(c, "ssubscribe", ch, false)
	}
}

// unsubscribeShardChannel removes one shard channel subscription.
func (s *Server) unsubscribeShardChannel(c *Client, name string, notify bool) {
	s.pubsub.shard.unsubscribe(c.shardChannels, c, name)
	c.updatePubSubFlag()
	if notify {
		writeShardSubReply(c, "sunsubscribe", []byte(name), false)
	}
}

func sunsubscribeCommand(ctx *Ctx) {
	s, c := ctx.S, ctx.C
	if len(ctx.Args) == 1 {
		if len(c.shardChannels) == 0 {
			writeShardSubReply(c, "sunsubscribe", nil, true)
			return
		}
		for _, name := range sortedKeys(c.shardChannels) {
			s.unsubscribeShardChannel(c, name, true)
		}
		return
	}
	for _, ch := range ctx.Args[1:] {
		s.unsubscribeShardChannel(c, string(ch), true)
	}
}

// publishShard delivers a message to a shard channel's subscribers (no
// pattern matching) and returns how many received it.
func (s *Server) publishShard(channel, message []byte) int {
	n := s.pubsub.shard.publish("smessage", channel, message)
	s.stats.PubsubChannelsSent += int64(n)
	return n
}

func spublishCommand(ctx *Ctx) {
	n := ctx.S.publishShard(ctx.Args[1], ctx.Args[2])
	// Standalone: forceCommandPropagation(PROPAGATE_REPL), as PUBLISH.
	ctx.Propagate(ctx.Args...)
	ctx.W.Int(int64(n))
}

func pubsubShardChannelsCommand(ctx *Ctx) { ctx.S.pubsub.shard.replyChannels(ctx) }

func pubsubShardNumsubCommand(ctx *Ctx) { ctx.S.pubsub.shard.replyNumsub(ctx) }
