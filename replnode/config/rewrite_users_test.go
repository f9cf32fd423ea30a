package config

import "testing"

// TestRewriteTextUsers checks the `user` lines CONFIG REWRITE writes: the
// current users replace the file's user lines in place (extra old ones
// dropped, extra new ones after the last), and with an aclfile (UserLines
// nil) the file's user lines are dropped.
func TestRewriteTextUsers(t *testing.T) {
	old := "# mine\nuser a on nopass\nport 7000\nuser b off\nuser c off\n"
	for _, tc := range []struct {
		users []string
		want  string
	}{
		{[]string{"user a on nopass +get", "user default on nopass ~* &* +@all"},
			"# mine\nuser a on nopass +get\nport 7000\nuser default on nopass ~* &* +@all\n"},
		{[]string{"user a x", "user b x", "user c x", "user d x"},
			"# mine\nuser a x\nport 7000\nuser b x\nuser c x\nuser d x\n"},
		{nil, "# mine\nport 7000\n"},
	} {
		c := Default()
		if err := c.LoadString(old); err != nil {
			t.Fatal(err)
		}
		if len(c.Users) != 3 || c.Users[1][1] != "b" {
			t.Fatalf("user lines kept for loading: %q", c.Users)
		}
		c.UserLines = tc.users
		if got := c.RewriteText(old); got != tc.want {
			t.Errorf("users %q:\n got  %q\n want %q", tc.users, got, tc.want)
		}
	}
}
