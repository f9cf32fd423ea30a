// Package acl owns Redis 7.0's access control lists as data and rules:
// users (passwords kept as SHA-256 hex, on/off, nopass), their selectors
// (command bitmaps with categories, subcommands and first-arg rules, key
// patterns with read/write permissions, channel patterns), the rule
// language of ACL SETUSER and of `user` lines (parsing, and describing a
// user back in the exact form ACL LIST, GETUSER and ACL SAVE print), the
// permission decision for one command (Redis's ACLCheckAllUserCommandPerm),
// the ACL file format of ACL LOAD/SAVE, and the ACL LOG with its grouping
// of similar entries. Its behaviour follows src/acl.c of Redis 7.0.15.
//
// It must not do I/O, keep time or know about connections: the server
// gives it the command table (Table, built once from its own), the key and
// channel positions of a command (KeyRef, ChannelRef, computed only when a
// restricted selector needs them), file contents as text and the time of
// a log entry. Which clients to disconnect after a change is decided here
// (DelUser, LoadText and SetUser report it) and done by the server.
//
// The hot path is one flag: a user whose root selector allows every
// command, key and channel (the default user, as shipped) is Unrestricted,
// and the server does not call Check for it.
package acl
