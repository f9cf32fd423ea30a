package server

// ---------------------------------------------------------------- glob matching

// globMatch is Redis's stringmatchlen: '*' any sequence, '?' any byte,
// '[...]' a class with ranges and '^' negation, '\' escapes. nocase folds
// ASCII case. A nesting guard keeps pathological patterns bounded, as
// Redis's skipLongerMatches does.
func globMatch(pattern, str []byte, nocase bool) bool {
	skip := false
	return globMatchImpl(pattern, str, nocase, &skip, 0)
}

// GlobMatch exposes globMatch to other command groups (HSCAN MATCH ...).
func GlobMatch(pattern, str []byte, nocase bool) bool { return globMatch(pattern, str, nocase) }

func lowerByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func globMatchImpl(pattern, str []byte, nocase bool, skipLonger *bool, nesting int) bool {
	// Protection against abusive patterns.
	if nesting > 1000 {
		return false
	}
	for len(pattern) > 0 && len(str) > 0 {
		switch pattern[0] {
		case '*':
			for len(pattern) > 1 && pattern[1] == '*' {
				pattern = pattern[1:]
			}
			if len(pattern) == 1 {
				return true
			}
			for len(str) > 0 {
				if globMatchImpl(pattern[1:], str, nocase, skipLonger, nesting+1) {
					return true
				}
				if *skipLonger {
					return false
				}
				str = str[1:]
			}
			*skipLonger = true
			return false
		case '?':
			str = str[1:]
		case '[':
			pattern = pattern[1:]
			not := len(pattern) > 0 && pattern[0] == '^'
			if not {
				pattern = pattern[1:]
			}
			match := false
			for len(pattern) > 0 {
				if pattern[0] == '\\' && len(pattern) >= 2 {
					pattern = pattern[1:]
					if pattern[0] == str[0] {
						match = true
					}
				} else if pattern[0] == ']' {
					break
				} else if len(pattern) >= 3 && pattern[1] == '-' {
					start, end := pattern[0], pattern[2]
					c := str[0]
					if start > end {
						start, end = end, start
					}
					if nocase {
						start, end, c = lowerByte(start), lowerByte(end), lowerByte(c)
					}
					pattern = pattern[2:]
					if c >= start && c <= end {
						match = true
					}
				} else {
					if nocase {
						if lowerByte(pattern[0]) == lowerByte(str[0]) {
							match = true
						}
					} else if pattern[0] == str[0] {
						match = true
					}
				}
				pattern = pattern[1:]
			}
			if len(pattern) == 0 {
				// Unterminated class: Redis points at the last byte
				// again; treat as end of pattern.
				pattern = pattern[:0]
			}
			if not {
				match = !match
			}
			if !match {
				return false
			}
			str = str[1:]
		case '\\':
			if len(pattern) >= 2 {
				pattern = pattern[1:]
			}
			fallthrough
		default:
			if nocase {
				if lowerByte(pattern[0]) != lowerByte(str[0]) {
					return false
				}
			} else if pattern[0] != str[0] {
				return false
			}
			str = str[1:]
		}
		if len(pattern) > 0 {
			pattern = pattern[1:]
		}
		if len(str) == 0 {
			for len(pattern) > 0 && pattern[0] == '*' {
				pattern = pattern[1:]
			}
			break
		}
	}
	return len(pattern) == 0 && len(str) == 0
}
