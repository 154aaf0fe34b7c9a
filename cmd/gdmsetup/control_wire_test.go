package main

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestFrameRoundTripAndLimits(t *testing.T) {
	var b bytes.Buffer
	for _, p := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte{7}, maxFrameBytes)} {
		if err := writeFrame(&b, frameStdout, p); err != nil {
			t.Fatal(err)
		}
		kind, got, err := readFrame(&b)
		if err != nil || kind != frameStdout || !bytes.Equal(got, p) {
			t.Fatalf("frame of %d bytes: kind %q, %d bytes, %v", len(p), kind, len(got), err)
		}
	}
	if err := writeFrame(&b, frameStdout, make([]byte, maxFrameBytes+1)); err == nil {
		t.Fatal("writeFrame sent a frame above the limit")
	}
	if _, _, err := readFrame(strings.NewReader("o\x00\x10\x00\x01")); err == nil || !strings.Contains(err.Error(), "above the limit") {
		t.Fatalf("oversized length: %v", err)
	}
	if _, _, err := readFrame(strings.NewReader("o\x00\x00\x00\x05abc")); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated payload: %v", err)
	}
	if _, _, err := readFrame(strings.NewReader("")); err != io.EOF {
		t.Fatalf("no frame: %v", err)
	}
	if _, err := parseUint32Frame(frameExit, []byte{1, 2}); err == nil {
		t.Fatal("a 2-byte exit frame was accepted")
	}
	for _, bad := range []string{`{`, `{"args":["ls"],"cwd":"rel"}`, `{"args":"ls","cwd":"/"}`, `{"args":[` + strings.Repeat(`"a",`, maxRequestArgs) + `"a"],"cwd":"/"}`} {
		if _, err := decodeRequest([]byte(bad)); err == nil {
			t.Errorf("request %.40q accepted", bad)
		}
	}
	req, err := decodeRequest([]byte(`{"args":["info","x"],"cwd":"/tmp"}`))
	if err != nil || strings.Join(req.Args, " ") != "info x" || req.Cwd != "/tmp" {
		t.Fatalf("good request: %+v %v", req, err)
	}
}

// FuzzControlDecoder feeds arbitrary bytes to the server's side of the
// wire: frames then a request; it must fail cleanly, never panic, never
// return more than the limit.
func FuzzControlDecoder(f *testing.F) {
	f.Add([]byte("q\x00\x00\x00\x22{\"args\":[\"ls\"],\"cwd\":\"/tmp/x\"}"))
	f.Add([]byte("q\xff\xff\xff\xff"))
	f.Add([]byte("i\x00\x00\x00\x00"))
	f.Add([]byte("x\x00\x00\x00\x04\x00\x00\x00\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		for {
			kind, p, err := readFrame(r)
			if err != nil {
				return
			}
			if len(p) > maxFrameBytes {
				t.Fatalf("frame of %d bytes", len(p))
			}
			switch kind {
			case frameRequest:
				if req, err := decodeRequest(p); err == nil && (len(req.Args) > maxRequestArgs || !strings.HasPrefix(req.Cwd, "/")) {
					t.Fatalf("bad request accepted: %+v", req)
				}
			case frameRead, frameExit:
				parseUint32Frame(kind, p)
			}
		}
	})
}
