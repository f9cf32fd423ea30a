package server

import (
	"sort"
	"strconv"

	"github.com/replnode/replnode/replnode/config"
)

// ---------------------------------------------------------------- pub/sub
//
// SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, PUBSUB and
// keyspace notifications, as Redis 7.0's pubsub.c and notify.c. Messages
// are pushes in RESP3 and arrays in RESP2.

func init() {
	register(
		&Command{Name: "subscribe", Arity: -2, Flags: FlagPubSub | FlagNoScript | FlagLoading | FlagStale, Group: "pubsub", Handler: subscribeCommand},
		&Command{Name: "psubscribe", Arity: -2, Flags: FlagPubSub | FlagNoScript | FlagLoading | FlagStale, Group: "pubsub", Handler: psubscribeCommand},
		&Command{Name: "unsubscribe", Arity: -1, Flags: FlagPubSub | FlagNoScript | FlagLoading | FlagStale, Group: "pubsub", Handler: unsubscribeCommand},
		&Command{Name: "punsubscribe", Arity: -1, Flags: FlagPubSub | FlagNoScript | FlagLoading | FlagStale, Group: "pubsub", Handler: punsubscribeCommand},
		&Command{Name: "publish", Arity: 3, Flags: FlagPubSub | FlagLoading | FlagStale | FlagFast | FlagMayReplicate, Group: "pubsub", Handler: publishCommand},
		&Command{Name: "pubsub", Arity: -2, Group: "pubsub", Subcommands: []*Command{
			{Name: "channels", Arity: -2, Flags: FlagPubSub | FlagLoading | FlagStale, Handler: pubsubChannelsCommand},
			{Name: "numsub", Arity: -2, Flags: FlagPubSub | FlagLoading | FlagStale, Handler: pubsubNumsubCommand},
			{Name: "numpat", Arity: 2, Flags: FlagPubSub | FlagLoading | FlagStale, Handler: pubsubNumpatCommand},
			{Name: "shardchannels", Arity: -2, Flags: FlagPubSub | FlagLoading | FlagStale, Handler: pubsubShardChannelsCommand},
			{Name: "shardnumsub", Arity: -2, Flags: FlagPubSub | FlagLoading | FlagStale, Handler: pubsubShardNumsubCommand},
			{Name: "help", Arity: 2, Flags: FlagLoading | FlagStale, Handler: pubsubHelpCommand},
		}},
	)
}

// pubsubState is the server's subscription registry.
type pubsubState struct {
	channels channelRegistry
	// patterns keeps subscription order per pattern for delivery order.
	patterns map[string][]*Client
	// shard holds SSUBSCRIBE channels (pubsub_shard.go).
	shard channelRegistry
}

func (p *pubsubState) init() {
	p.channels = channelRegistry{}
	p.patterns = map[string][]*Client{}
	p.shard = channelRegistry{}
}

// channelRegistry maps a channel to its subscribers: one shape for classic
// and shard channels, which differ only in which registry they use.
type channelRegistry map[string]map[*Client]struct{}

// subscribe adds name to c's own subscriptions (*own) and c to the
// registry; it reports false when c was already subscribed.
func (r channelRegistry) subscribe(own *map[string]struct{}, c *Client, name string) bool {
	if _, ok := (*own)[name]; ok {
		return false
	}
	if *own == nil {
		*own = map[string]struct{}{}
	}
	(*own)[name] = struct{}{}
	set := r[name]
	if set == nil {
		set = map[*Client]struct{}{}
		r[name] = set
	}
	set[c] = struct{}{}
	return true
}

// unsubscribe is subscribe's inverse; a channel left without subscribers
// leaves the registry.
func (r channelRegistry) unsubscribe(own map[string]struct{}, c *Client, name string) {
	if _, ok := own[name]; !ok {
		return
	}
	delete(own, name)
	if set := r[name]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(r, name)
		}
	}
}

// publish delivers message to the channel's subscribers as a kind push
// ("message" or "smessage") and returns how many received it.
func (r channelRegistry) publish(kind string, channel, message []byte) int {
	n := 0
	for c := range r[string(channel)] {
		c.writePush(func() {
			c.w.PushLen(3)
			c.w.BulkString(kind)
			c.w.Bulk(channel)
			c.w.Bulk(message)
		})
		c.Flush()
		n++
	}
	return n
}

// replyChannels answers PUBSUB CHANNELS|SHARDCHANNELS [pattern].
func (r channelRegistry) replyChannels(ctx *Ctx) {
	if len(ctx.Args) > 3 {
		ctx.Errorf("ERR unknown subcommand or wrong number of arguments for '%s'. Try PUBSUB HELP.", ctx.Args[1])
		return
	}
	var names []string
	for name := range r {
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

// replyNumsub answers PUBSUB NUMSUB|SHARDNUMSUB with channel, count pairs
// as a flat array in both protocols: Redis 7.0 never made it a RESP3 map
// (clients parse the pairs).
func (r channelRegistry) replyNumsub(ctx *Ctx) {
	ctx.W.ArrayLen(2 * (len(ctx.Args) - 2))
	for _, ch := range ctx.Args[2:] {
		ctx.W.Bulk(ch)
		ctx.W.Int(int64(len(r[string(ch)])))
	}
}

// subscriptionCount is the client's channel plus pattern count.
func (c *Client) subscriptionCount() int { return len(c.channels) + len(c.patterns) }

// updatePubSubFlag keeps ClientPubSub in line with the subscriptions.
func (c *Client) updatePubSubFlag() {
	if c.subscriptionCount()+len(c.shardChannels) > 0 {
		c.flags |= ClientPubSub
	} else {
		c.flags &^= ClientPubSub
	}
}

// writeSubReply writes a (p)(un)subscribe confirmation with the client's
// channel plus pattern count.
func writeSubReply(c *Client, kind string, name []byte, nullName bool) {
	writeSubscriptionPush(c, kind, name, nullName, c.subscriptionCount())
}

// writeSubscriptionPush writes a subscription confirmation push, as
// pubsub.c addReplyPubsub(Un)Subscribed: kind, the name (nil when a bare
// unsubscribe found nothing) and the count of subscriptions of its type.
func writeSubscriptionPush(c *Client, kind string, name []byte, nullName bool, count int) {
	c.writePush(func() {
		c.w.PushLen(3)
		c.w.BulkString(kind)
		if nullName {
			c.w.Null()
		} else {
			c.w.Bulk(name)
		}
		c.w.Int(int64(count))
	})
}

func subscribeCommand(ctx *Ctx) {
	s, c := ctx.S, ctx.C
	for _, ch := range ctx.Args[1:] {
		s.pubsub.channels.subscribe(&c.channels, c, string(ch))
		c.updatePubSubFlag()
		writeSubReply(c, "subscribe", ch, false)
	}
}

func psubscribeCommand(ctx *Ctx) {
	s, c := ctx.S, ctx.C
	if c.patterns == nil {
		c.patterns = map[string]struct{}{}
	}
	for _, p := range ctx.Args[1:] {
		name := string(p)
		if _, ok := c.patterns[name]; !ok {
			c.patterns[name] = struct{}{}
			s.pubsub.patterns[name] = append(s.pubsub.patterns[name], c)
		}
		c.updatePubSubFlag()
		writeSubReply(c, "psubscribe", p, false)
	}
}

// unsubscribeChannel removes one channel subscription.
func (s *Server) unsubscribeChannel(c *Client, name string, notify bool) {
	s.pubsub.channels.unsubscribe(c.channels, c, name)
	c.updatePubSubFlag()
	if notify {
		writeSubReply(c, "unsubscribe", []byte(name), false)
	}
}

// unsubscribePattern removes one pattern subscription.
func (s *Server) unsubscribePattern(c *Client, name string, notify bool) {
	if _, ok := c.patterns[name]; ok {
		delete(c.patterns, name)
		list := s.pubsub.patterns[name]
		for i, x := range list {
			if x == c {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(s.pubsub.patterns, name)
		} else {
			s.pubsub.patterns[name] = list
		}
	}
	c.updatePubSubFlag()
	if notify {
		writeSubReply(c, "punsubscribe", []byte(name), false)
	}
}

func unsubscribeCommand(ctx *Ctx) {
	s, c := ctx.S, ctx.C
	if len(ctx.Args) == 1 {
		if len(c.channels) == 0 {
			writeSubReply(c, "unsubscribe", nil, true)
			return
		}
		for _, name := range sortedKeys(c.channels) {
			s.unsubscribeChannel(c, name, true)
		}
		return
	}
	for _, ch := range ctx.Args[1:] {
		s.unsubscribeChannel(c, string(ch), true)
	}
}

func punsubscribeCommand(ctx *Ctx) {
	s, c := ctx.S, ctx.C
	if len(ctx.Args) == 1 {
		if len(c.patterns) == 0 {
			writeSubReply(c, "punsubscribe", nil, true)
			return
		}
		for _, name := range sortedKeys(c.patterns) {
			s.unsubscribePattern(c, name, true)
		}
		return
	}
	for _, p := range ctx.Args[1:] {
		s.unsubscribePattern(c, string(p), true)
	}
}

// pubsubUnsubscribeAll drops every subscription of c (client gone, RESET).
func (s *Server) pubsubUnsubscribeAll(c *Client, notify bool) {
	for name := range c.channels {
		s.unsubscribeChannel(c, name, notify)
	}
	for name := range c.patterns {
		s.unsubscribePattern(c, name, notify)
	}
	for name := range c.shardChannels {
		s.unsubscribeShardChannel(c, name, notify)
	}
}

func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Publish delivers message to channel subscribers and matching pattern
// subscribers and returns how many received it. Runs on the executor.
func (s *Server) Publish(channel, message []byte) int {
	n := s.pubsub.channels.publish("message", channel, message)
	for pat, clients := range s.pubsub.patterns {
		if !globMatch([]byte(pat), channel, false) {
			continue
		}
		for _, c := range clients {
			c.writePush(func() {
				c.w.PushLen(4)
				c.w.BulkString("pmessage")
				c.w.BulkString(pat)
				c.w.Bulk(channel)
				c.w.Bulk(message)
			})
			c.Flush()
			n++
		}
	}
	s.stats.PubsubChannelsSent += int64(n)
	return n
}

func publishCommand(ctx *Ctx) {
	n := ctx.S.Publish(ctx.Args[1], ctx.Args[2])
	// PUBLISH reaches replicas so their subscribers see it too.
	ctx.Propagate(ctx.Args...)
	ctx.W.Int(int64(n))
}

func pubsubChannelsCommand(ctx *Ctx) { ctx.S.pubsub.channels.replyChannels(ctx) }

func pubsubNumsubCommand(ctx *Ctx) { ctx.S.pubsub.channels.replyNumsub(ctx) }

func pubsubNumpatCommand(ctx *Ctx) { ctx.W.Int(int64(len(ctx.S.pubsub.patterns))) }

func pubsubHelpCommand(ctx *Ctx) {
	replyHelp(ctx, "PUBSUB",
		"CHANNELS [<pattern>]",
		"    Return the currently active channels matching a <pattern> (default: '*').",
		"NUMPAT",
		"    Return number of subscriptions to patterns.",
		"NUMSUB [<channel> ...]",
		"    Return the number of subscribers for the specified channels, excluding",
		"    pattern subscriptions(default: no channels).",
		"SHARDCHANNELS [<pattern>]",
		"    Return the currently active shard level channels matching a <pattern> (default: '*').",
		"SHARDNUMSUB [<shardchannel> ...]",
		"    Return the number of subscribers for the specified shard level channel(s)")
}

// replyHelp writes a HELP reply in Redis's addReplyHelp format: the header,
// the command's lines, then the HELP footer (two lines, counted in the
// length: a short count desynchronises the client's next reply).
func replyHelp(ctx *Ctx, cmd string, lines ...string) {
	ctx.W.ArrayLen(len(lines) + 3)
	ctx.W.SimpleString(cmd + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
	for _, l := range lines {
		ctx.W.SimpleString(l)
	}
	ctx.W.SimpleString("HELP")
	ctx.W.SimpleString("    Prints this help.")
}

// ---------------------------------------------------------------- keyspace notifications

const (
	notifyGeneric = config.NotifyGeneric
	notifyString  = config.NotifyString
	notifyExpired = config.NotifyExpired
	notifyKeyMiss = config.NotifyKeyMiss
	notifyNew     = config.NotifyNew
)

// Notification classes for Ctx.Notify, as Redis's NOTIFY_*.
const (
	NotifyGeneric = config.NotifyGeneric
	NotifyString  = config.NotifyString
	NotifyList    = config.NotifyList
	NotifySet     = config.NotifySet
	NotifyHash    = config.NotifyHash
	NotifyZSet    = config.NotifyZSet
	NotifyExpired = config.NotifyExpired
	NotifyEvicted = config.NotifyEvicted
)

// notifyKeyspaceEvent publishes __keyspace@db__:key and __keyevent@db__:event
// messages when notify-keyspace-events enables the class.
// notifyNewKey fires the "new" event (class n) for a key just added to
// db, as Redis's dbAdd does for every key it creates (not when a value
// replaces another under an existing key, nor when loading a dataset).
func (s *Server) notifyNewKey(key []byte, db int) {
	s.notifyKeyspaceEvent(notifyNew, "new", key, db)
}

func (s *Server) notifyKeyspaceEvent(class int, event string, key []byte, db int) {
	flags := s.notifyFlags()
	if flags&class == 0 || flags&(config.NotifyKeyspace|config.NotifyKeyevent) == 0 {
		return
	}
	dbs := strconv.Itoa(db)
	if flags&config.NotifyKeyspace != 0 {
		ch := append([]byte("__keyspace@"+dbs+"__:"), key...)
		s.Publish(ch, []byte(event))
	}
	if flags&config.NotifyKeyevent != 0 {
		ch := []byte("__keyevent@" + dbs + "__:" + event)
		s.Publish(ch, key)
	}
}

// notifyFlags returns the parsed notify-keyspace-events.
func (s *Server) notifyFlags() int { return s.notifyMask }
