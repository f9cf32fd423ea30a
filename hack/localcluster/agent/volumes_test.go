package agent

import (
	"os"
	"path/filepath"
	"testing"
)

// TestUpdateVolumeFilesKeepsTheDirectory: a refresh changes the files
// inside the volume's directory, never the directory itself (containers
// bind-mount it), drops files no longer in the volume and leaves
// unchanged ones alone.
func TestUpdateVolumeFilesKeepsTheDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	if err := writeVolumeFiles(dir, []volumeFile{
		{path: "tls.crt", data: []byte("old cert"), mode: 0o440},
		{path: "ca.crt", data: []byte("ca"), mode: 0o440},
		{path: "gone.key", data: []byte("x"), mode: 0o440},
	}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(dir)
	caBefore, _ := os.Stat(filepath.Join(dir, "ca.crt"))
	if err := updateVolumeFiles(dir, []volumeFile{
		{path: "tls.crt", data: []byte("new cert"), mode: 0o440},
		{path: "ca.crt", data: []byte("ca"), mode: 0o440},
		{path: "sub/added", data: []byte("a"), mode: 0o644},
	}); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(dir)
	if !os.SameFile(before, after) {
		t.Fatal("the volume's directory was replaced")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "tls.crt")); string(b) != "new cert" {
		t.Fatalf("tls.crt holds %q", b)
	}
	if st, _ := os.Stat(filepath.Join(dir, "tls.crt")); st.Mode().Perm() != 0o440 {
		t.Fatalf("tls.crt mode %v", st.Mode())
	}
	if caAfter, _ := os.Stat(filepath.Join(dir, "ca.crt")); !os.SameFile(caBefore, caAfter) {
		t.Fatal("an unchanged file was rewritten")
	}
	if _, err := os.Stat(filepath.Join(dir, "gone.key")); !os.IsNotExist(err) {
		t.Fatalf("a file no longer in the volume is still there: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "sub", "added")); string(b) != "a" {
		t.Fatalf("sub/added holds %q", b)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".tmp" {
			t.Fatalf("temporary file left: %s", e.Name())
		}
	}
	if err := updateVolumeFiles(dir, []volumeFile{{path: "../escape", data: nil, mode: 0o644}}); err == nil {
		t.Fatal("a path outside the volume was accepted")
	}
}
