package config

import (
	"strings"
	"testing"
)

// TestSaveParsingAsRedis70: the save directive from the command line, a
// file and CONFIG SET, with the results redis-server 7.0.15 gives for the
// same input (checked by hand with CONFIG GET save on both servers).
func TestSaveParsingAsRedis70(t *testing.T) {
	args := []struct {
		name string
		args []string
		want string // "!" + error substring for a refused start
	}{
		{"one argument", []string{"--save", "3600 1 300 100"}, "3600 1 300 100"},
		{"empty", []string{"--save", ""}, ""},
		{"several arguments", []string{"--save", "3600", "1", "300", "100"}, "3600 1 300 100"},
		{"repeated", []string{"--save", "3600", "1", "--save", "300", "100"}, "3600 1 300 100"},
		{"empty then points", []string{"--save", "", "--save", "60", "1"}, "60 1"},
		{"points then empty", []string{"--save", "60", "1", "--save", ""}, ""},
		{"bare --save last", []string{"--save", "60", "1", "--save"}, ""},
		{"empty resets", []string{"--save", "60 1", "--save", "", "--save", "10 1"}, "10 1"},
		{"quoted words", []string{"--save", "60 1", "--save", "30 '2'"}, "60 1 30 2"},
		{"sign", []string{"--save", "+5 1"}, "5 1"},
		{"zero seconds", []string{"--save", "0 1"}, "!Invalid save parameters"},
		{"odd", []string{"--save", "60"}, "!Invalid save parameters"},
		{"not a number", []string{"--save", "60 x"}, "!Invalid save parameters"},
		{"two quoted arguments", []string{"--save", "60 1", "300 2"}, "!Invalid save parameters"},
	}
	for _, tc := range args {
		t.Run("args/"+tc.name, func(t *testing.T) {
			c, err := FromArgs(tc.args, nil)
			checkSave(t, c, err, tc.want)
		})
	}

	files := []struct{ text, want string }{
		{`save "3600 1 300 100"`, "3600 1 300 100"},
		{"save 60 1\nsave \"\"", ""},
		{"save \"\"\nsave 10 2", "10 2"},
		{"save 60 1\nsave", "60 1"},
		{"save\nsave 5 5", "5 5"},
		{"save '60 1'", "60 1"},
		{`save "60 1 "`, "60 1"},
		{`save " 60 1"`, "60 1"},
		{"save 60 1\nsave 30 2", "60 1 30 2"},
		{`save "60 1" 30 2`, "!Invalid save parameters"},
	}
	for _, tc := range files {
		c := Default()
		err := c.LoadString(tc.text)
		t.Run("file/"+strings.ReplaceAll(tc.text, "\n", ";"), func(t *testing.T) { checkSave(t, c, err, tc.want) })
	}

	sets := []struct{ value, want string }{
		{"3600 1 300 100", "3600 1 300 100"},
		{"", ""},
		{"+5 1", "5 1"},
		{"60  1 2", "60 0 1 2"}, // split on single spaces: the empty word is 0 changes
		{"9999999999999999999999 1", "9223372036854775807 1"},
		{"0 1", "!Invalid save parameters"},
		{"3600  1", "!Invalid save parameters"},
		{" 3600 1", "!Invalid save parameters"},
		{"60 1 ", "!Invalid save parameters"},
		{"5 -1", "!Invalid save parameters"},
		{"1 2 3", "!Invalid save parameters"},
		{"1 +", "!Invalid save parameters"},
	}
	for _, tc := range sets {
		t.Run("configset/"+tc.value, func(t *testing.T) {
			c := Default()
			err := c.SetMany([][2]string{{"save", tc.value}})
			if err != nil {
				// A refused CONFIG SET keeps the value in force.
				if got := c.String("save"); got != "3600 1 300 100 60 10000" {
					t.Errorf("refused CONFIG SET changed save to %q", got)
				}
			}
			checkSave(t, c, err, tc.want)
		})
	}
}

// checkSave compares a parse outcome with want ("!" + error substring, or
// the CONFIG GET save value).
func checkSave(t *testing.T, c *Config, err error, want string) {
	t.Helper()
	if strings.HasPrefix(want, "!") {
		if err == nil || !strings.Contains(err.Error(), want[1:]) {
			t.Fatalf("err = %v, want %q", err, want[1:])
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := c.String("save"); got != want {
		t.Errorf("save = %q, want %q", got, want)
	}
}
