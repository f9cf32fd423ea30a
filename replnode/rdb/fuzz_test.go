package rdb

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/replnode/replnode/replnode/store"
)

// bufioReader wraps b for direct use by a decoder.
func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

// FuzzLoad feeds arbitrary bytes to the decoder and to the DUMP parser:
// they may fail, never panic or hang. The seeds are the golden files;
// crashers found by `go test -fuzz FuzzLoad` land in testdata/fuzz and then
// run as regression tests.
func FuzzLoad(f *testing.F) {
	for _, name := range goldenSets {
		data, err := os.ReadFile(filepath.Join("testdata", name+".rdb"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(DumpPayload(store.NewString([]byte("seed")), DefaultOptions))
	f.Fuzz(func(t *testing.T, data []byte) {
		ks := store.NewKeyspace(16)
		if _, err := LoadKeyspace(bytes.NewReader(data), ks, LoadOptions{}); err == nil {
			// Whatever loaded must write and load again identically.
			var buf bytes.Buffer
			if err := WriteSnapshot(&buf, snapshots(ks), AuxInfo{}, DefaultOptions); err != nil {
				t.Fatal(err)
			}
			again := store.NewKeyspace(16)
			if _, err := LoadKeyspace(bytes.NewReader(buf.Bytes()), again, LoadOptions{}); err != nil {
				t.Fatalf("reloading our own output: %v", err)
			}
			if store.DatasetDigest(ks) != store.DatasetDigest(again) {
				t.Fatal("digest changed across a rewrite")
			}
		}
		ParseDumpPayload(data)
		ReadAux(bytes.NewReader(data))
	})
}
