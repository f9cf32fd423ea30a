package server

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadPayloadHeaderDiskForm(t *testing.T) {
	in := "\n\n$5\r\nREDIS*1\r\n$4\r\nPING\r\n"
	br := bufio.NewReader(strings.NewReader(in))
	r, n, err := readPayloadHeader(br)
	if err != nil || n != 5 {
		t.Fatalf("header: n=%d err=%v", n, err)
	}
	body, _ := io.ReadAll(r)
	rest, _ := io.ReadAll(br)
	if string(body) != "REDIS" || string(rest) != "*1\r\n$4\r\nPING\r\n" {
		t.Fatalf("body %q rest %q", body, rest)
	}
}

func TestReadPayloadHeaderEOFForm(t *testing.T) {
	mark := strings.Repeat("7", 40)
	payload := bytes.Repeat([]byte("0123456789"), 10_000) // crosses many reads
	in := "\n$EOF:" + mark + "\r\n" + string(payload) + mark
	for name, src := range map[string]io.Reader{
		"whole":    strings.NewReader(in),
		"one-byte": iotest.OneByteReader(strings.NewReader(in)),
		"half":     iotest.HalfReader(strings.NewReader(in)),
	} {
		br := bufio.NewReader(src)
		r, n, err := readPayloadHeader(br)
		if err != nil || n != -1 {
			t.Fatalf("%s: header n=%d err=%v", name, n, err)
		}
		body, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(body, payload) {
			t.Fatalf("%s: body len %d err %v", name, len(body), err)
		}
	}
	// A connection that ends before the mark is an error, not a short load.
	br := bufio.NewReader(strings.NewReader("$EOF:" + mark + "\r\nabc"))
	r, _, _ := readPayloadHeader(br)
	if _, err := io.ReadAll(r); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated payload err = %v", err)
	}
	for _, bad := range []string{"-ERR no\r\n", "+OK\r\n", "$EOF:short\r\n", "$x\r\n"} {
		if _, _, err := readPayloadHeader(bufio.NewReader(strings.NewReader(bad))); err == nil {
			t.Fatalf("%q should fail", bad)
		}
	}
}
