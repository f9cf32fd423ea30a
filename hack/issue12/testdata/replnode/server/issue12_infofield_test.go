package server_test

import (
	"github.com/replnode/replnode/replnode/redistest"
	"strings"
	"testing"
)

// infoField reads one INFO field.
func infoField(t *testing.T, c *redistest.Client, section, field string) string {
	t.Helper()
	r := c.MustDo(t, "INFO", section)
	for _, line := range strings.Split(r.Str, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v
		}
	}
	t.Fatalf("INFO %s has no %s", section, field)
	return ""
}
