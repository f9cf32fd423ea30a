package config

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/replnode/replnode/replnode/resp"
)

// RedisVersion is the version printed in fatal configuration errors.
const RedisVersion = "7.0.15"

// Config holds the value of every directive as canonical text (what CONFIG
// GET prints), plus where the values came from. It is not safe for
// concurrent use: the server owns it on its executor.
type Config struct {
	values map[string]string // canonical name -> canonical value
	// File is the absolute path of the main configuration file, "" if the
	// server started without one (CONFIG REWRITE then fails, as in Redis).
	File string
	// Warnings are the one-line notices about accepted but unimplemented
	// directives, for the server to log at startup.
	Warnings []string
	warned   map[string]bool
	// Users are the `user <name> <rules>...` lines, in order, each with
	// "user" first: the server loads them at startup (they are ACL rules,
	// which this package does not interpret).
	Users [][]string
	// UserLines are the users as CONFIG REWRITE writes them ("user
	// <name> <rules>"), which the server sets before Rewrite; nil when an
	// aclfile holds the users, and then the file's user lines are dropped
	// (Redis's rewriteConfigUserOption).
	UserLines []string
	// saveSeen is set once a file or argument gave a save line, so the
	// first one replaces the default and later ones add to it.
	saveSeen bool

	saveCache    [][2]int64
	saveCacheKey string
}

// Default returns a configuration with every directive at its default.
func Default() *Config {
	c := &Config{values: make(map[string]string, len(Directives)), warned: map[string]bool{}}
	for _, d := range Directives {
		c.values[d.Name] = d.Default
	}
	return c
}

// ---------------------------------------------------------------- typed getters

// Get returns the canonical value of a directive (or alias), and whether it
// exists.
func (c *Config) Get(name string) (string, bool) {
	d, ok := Lookup(name)
	if !ok {
		return "", false
	}
	return c.values[d.Name], true
}

// String is the value of a directive known to exist.
func (c *Config) String(name string) string {
	v, ok := c.Get(name)
	if !ok {
		panic("config: unknown directive " + name)
	}
	return v
}

// Int is the value of an integer or memory directive.
func (c *Config) Int(name string) int64 {
	n, err := strconv.ParseInt(c.String(name), 10, 64)
	if err != nil {
		panic("config: " + name + " is not numeric: " + err.Error())
	}
	return n
}

// Bool is the value of a yes/no directive.
func (c *Config) Bool(name string) bool { return c.String(name) == "yes" }

// Fields is the value split on blanks (bind, save, ...).
func (c *Config) Fields(name string) []string { return strings.Fields(c.String(name)) }

// SaveParams returns the save points as (seconds, changes) pairs. The
// result is cached until save changes (callers run it per command): it
// must not be modified.
func (c *Config) SaveParams() [][2]int64 {
	v := c.values["save"]
	if c.saveCache != nil && c.saveCacheKey == v {
		return c.saveCache
	}
	f := strings.Fields(v)
	out := [][2]int64{}
	for i := 0; i+1 < len(f); i += 2 {
		s, _ := strconv.ParseInt(f[i], 10, 64)
		n, _ := strconv.ParseInt(f[i+1], 10, 64)
		out = append(out, [2]int64{s, n})
	}
	c.saveCache, c.saveCacheKey = out, v
	return out
}

// ReplicaOf returns the configured master, ok false for none.
func (c *Config) ReplicaOf() (host string, port int, ok bool) {
	f := c.Fields("replicaof")
	if len(f) != 2 {
		return "", 0, false
	}
	p, _ := strconv.Atoi(f[1])
	return f[0], p, true
}

// Names returns every canonical name and alias, for CONFIG GET patterns.
func Names() []string {
	var out []string
	for _, d := range Directives {
		out = append(out, d.Name)
		out = append(out, d.Aliases...)
	}
	return out
}

// ---------------------------------------------------------------- setting

// SetError is a rejected value; Msg is Redis's explanation ("argument must
// be 'yes' or 'no'").
type SetError struct {
	Name string
	Msg  string
}

func (e *SetError) Error() string { return e.Msg }

// ErrUnknown is returned for a name that is no directive.
var ErrUnknown = errors.New("Bad directive or wrong number of arguments") //nolint:staticcheck // ST1005: Redis's wording, shown to users verbatim

// errWrongArgs is a known directive with the wrong number of arguments.
var errWrongArgs = fmt.Errorf("wrong number of arguments")

// Set validates and stores one directive given as its arguments (most take
// one). fromFile selects file semantics (save lines accumulate) over CONFIG
// SET ones (save replaces). Immutable directives are refused unless
// startup is true.
func (c *Config) Set(name string, args []string, startup bool) error {
	d, ok := Lookup(name)
	if !ok {
		return ErrUnknown
	}
	if d.Immutable && !startup {
		return &SetError{d.Name, "can't set immutable config"}
	}
	val, err := c.parse(d, args, startup)
	if err != nil {
		return err
	}
	c.values[d.Name] = val
	if startup && !d.Implemented && val != d.Default && !c.warned[d.Name] {
		c.warned[d.Name] = true
		c.Warnings = append(c.Warnings, fmt.Sprintf("Directive '%s' is accepted but not supported by replnode; it is ignored.", d.Name))
	}
	return nil
}

// SetMany applies CONFIG SET's name/value pairs all or nothing.
func (c *Config) SetMany(pairs [][2]string) error {
	saved := make(map[string]string, len(pairs))
	for _, p := range pairs {
		d, ok := Lookup(p[0])
		if !ok {
			return ErrUnknown
		}
		if _, dup := saved[d.Name]; !dup {
			saved[d.Name] = c.values[d.Name]
		}
	}
	for _, p := range pairs {
		if err := c.Set(p[0], []string{p[1]}, false); err != nil {
			for n, v := range saved {
				c.values[n] = v
			}
			return err
		}
	}
	return nil
}

// parse validates args for d and returns the canonical value.
func (c *Config) parse(d *Directive, args []string, startup bool) (string, error) {
	bad := func(msg string) error { return &SetError{d.Name, msg} }
	if d.Kind != KindSpecial && len(args) != 1 {
		return "", errWrongArgs
	}
	switch d.Kind {
	case KindBool:
		switch strings.ToLower(args[0]) {
		case "yes":
			return "yes", nil
		case "no":
			return "no", nil
		}
		return "", bad("argument must be 'yes' or 'no'")
	case KindInt:
		// numericParseString: string2ll, so "+5", "05" and "-0" are refused.
		n, ok := resp.ParseInt([]byte(args[0]))
		if !ok {
			return "", bad("argument couldn't be parsed into an integer")
		}
		if n < d.Min || n > d.Max {
			return "", bad(fmt.Sprintf("argument must be between %d and %d inclusive", d.Min, d.Max))
		}
		return strconv.FormatInt(n, 10), nil
	case KindMemory:
		n, ok := ParseMemory(args[0])
		if !ok {
			return "", bad("argument must be a memory value")
		}
		if n < d.Min || n > d.Max {
			return "", bad(fmt.Sprintf("argument must be between %d and %d inclusive", d.Min, d.Max))
		}
		return strconv.FormatInt(n, 10), nil
	case KindString:
		return args[0], nil
	case KindEnum:
		v := strings.ToLower(args[0])
		for _, e := range d.Enum {
			if e == v {
				return v, nil
			}
		}
		return "", bad("argument(s) must be one of the following: " + strings.Join(d.Enum, ", "))
	}
	return c.parseSpecial(d, args, startup)
}

// ParseMemory parses a memory amount as Redis's memtoull: digits (none
// means 0) with an optional b, k, kb, m, mb, g or gb unit (k = 1000,
// kb = 1024), case-insensitively, no sign. As in C, a number beyond 2^64-1
// saturates, the product with the unit wraps, and the result is read as a
// signed long long (so the range check then refuses what went past 2^63-1).
func ParseMemory(s string) (int64, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	digits, unit := s[:i], strings.ToLower(s[i:])
	mul := map[string]uint64{"": 1, "b": 1, "k": 1e3, "kb": 1 << 10, "m": 1e6, "mb": 1 << 20, "g": 1e9, "gb": 1 << 30}[unit]
	if mul == 0 || len(digits) >= 128 {
		return 0, false
	}
	n := uint64(0)
	if digits != "" {
		var err error
		if n, err = strconv.ParseUint(digits, 10, 64); err != nil {
			n = math.MaxUint64 // strtoull saturates on ERANGE
		}
	}
	return int64(n * mul), true
}

// ---------------------------------------------------------------- loading

// FatalError is a configuration error that stops startup, printed in
// Redis's format by Error.
type FatalError struct {
	Line    int
	Text    string
	Problem string
}

func (e *FatalError) Error() string {
	return fmt.Sprintf("\n*** FATAL CONFIG FILE ERROR (Redis %s) ***\nReading the configuration file, at line %d\n>>> '%s'\n%s\n",
		RedisVersion, e.Line, e.Text, e.Problem)
}

// UserValidator checks the rules of a `user` line as it is read (the
// server sets it: the rules are ACLs, which this package does not
// interpret). It returns Redis's error for a rule that can never work.
var UserValidator func(args []string) error

// addUserLine keeps a `user` line for the server to load at startup,
// refusing a user declared twice and, through UserValidator, bad rules,
// as Redis's ACLAppendUserForLoading.
func (c *Config) addUserLine(args []string) error {
	for _, earlier := range c.Users {
		if earlier[1] == args[1] {
			return fmt.Errorf("Error in user declaration '%s': Duplicate user found. A user can only be defined once in config files", args[1])
		}
	}
	if UserValidator != nil {
		if err := UserValidator(args); err != nil {
			return err
		}
	}
	c.Users = append(c.Users, args)
	return nil
}

// LoadString applies configuration text with redis.conf syntax: one
// directive per line, '#' comments, sdssplitargs quoting, include. Errors
// name the line, counted from 1 in text.
func (c *Config) LoadString(text string) error {
	for i, raw := range strings.Split(text, "\n") {
		line := strings.Trim(raw, " \t\r\n")
		if line == "" || line[0] == '#' {
			continue
		}
		fail := func(problem string) error {
			return &FatalError{Line: i + 1, Text: line, Problem: problem}
		}
		bargs, _, ok := resp.SplitArgs([]byte(line), nil, nil)
		if !ok {
			return fail("Unbalanced quotes in configuration line")
		}
		if len(bargs) == 0 {
			continue
		}
		args := make([]string, len(bargs))
		for j, a := range bargs {
			args[j] = string(a)
		}
		name := strings.ToLower(args[0])
		switch {
		case name == "include" && len(args) == 2:
			data, err := os.ReadFile(args[1])
			if err != nil {
				return fail(fmt.Sprintf("Fatal error, can't open config file '%s': %v", args[1], err))
			}
			if err := c.LoadString(string(data)); err != nil {
				return err
			}
			continue
		case name == "user" && len(args) >= 2:
			if err := c.addUserLine(args); err != nil {
				return fail(err.Error())
			}
			continue
		case fileOnly[name]:
			if !c.warned[name] {
				c.warned[name] = true
				c.Warnings = append(c.Warnings, fmt.Sprintf("Directive '%s' is not supported by replnode; it is ignored.", name))
			}
			continue
		}
		if err := c.Set(name, args[1:], true); err != nil {
			return fail(err.Error())
		}
	}
	return nil
}

// LoadFile reads a configuration file and remembers it for CONFIG REWRITE.
func (c *Config) LoadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("Fatal error, can't open config file '%s': %v", path, err) //nolint:staticcheck // ST1005: Redis's wording, shown to users verbatim
	}
	if abs, err := absPath(path); err == nil {
		c.File = abs
	}
	return c.LoadString(string(data))
}

// FromArgs builds a configuration from a redis-server style command line:
// [config-file] [--directive value ...]. As in Redis the options are
// appended to the file's text (after a newline), so line numbers in errors
// continue past the file, and later lines win.
func FromArgs(args []string, stdin func() (string, error)) (*Config, error) {
	c := Default()
	text := ""
	i := 0
	if len(args) > 0 && !strings.HasPrefix(args[0], "--") && args[0] != "-" {
		data, err := os.ReadFile(args[0])
		if err != nil {
			return nil, fmt.Errorf("Fatal error, can't open config file '%s': %v", args[0], err) //nolint:staticcheck // ST1005: Redis's wording, shown to users verbatim
		}
		if abs, err := absPath(args[0]); err == nil {
			c.File = abs
		}
		text = string(data)
		i = 1
	}
	var opts strings.Builder
	readStdin := false
	for ; i < len(args); i++ {
		a := args[i]
		if a == "-" {
			readStdin = true
			continue
		}
		if strings.HasPrefix(a, "--") && len(a) > 2 {
			if opts.Len() > 0 {
				opts.WriteByte('\n')
			}
			opts.WriteString(a[2:])
			// "--save" with no value (last, or followed by another
			// option) means save "", as Redis 7.0 accepts.
			if strings.EqualFold(a, "--save") && (i == len(args)-1 || strings.HasPrefix(args[i+1], "--")) {
				opts.WriteString(` ""`)
			}
			continue
		}
		opts.WriteByte(' ')
		opts.WriteString(Quote(a))
	}
	if readStdin && stdin != nil {
		s, err := stdin()
		if err != nil {
			return nil, err
		}
		text += "\n" + s
	}
	if opts.Len() > 0 {
		text += "\n" + opts.String()
	}
	if err := c.LoadString(text); err != nil {
		return nil, err
	}
	return c, nil
}

// Quote renders s as Redis's sdscatrepr does (resp.AppendRepr), the quoting
// config files and CONFIG REWRITE use.
func Quote(s string) string {
	return string(resp.AppendRepr(nil, []byte(s)))
}
