// Package config owns redis.conf: the table of directives Redis 7.0 documents
// (with the old slave* aliases), parsing of files and command-line arguments
// with Redis's quoting and include rules, typed values for CONFIG GET/SET, and
// CONFIG REWRITE that keeps the user's comments. replnode's own directives
// (Directive.Extension: metrics-port, metrics-bind) sit in the same table.
//
// It must not apply a setting to a running server: the server reads the
// typed values and reacts to changes reported by Set.
package config
