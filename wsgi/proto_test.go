package wsgi

import (
	"bytes"
	"testing"
)

// TestDetachPayloads checks the batch path of the reader: frames taken
// with nextView alias the read buffer, and detachPayloads gives them one
// array of their own that later reads cannot overwrite and that an append
// to one payload cannot spill into the next.
func TestDetachPayloads(t *testing.T) {
	var stream []byte
	stream = appendFrame(stream, frameHeaders, 7, []byte("200 OK\x00Content-Type\x00text/plain"))
	stream = appendFrame(stream, frameData, 7, []byte("hello"))
	stream = appendFrame(stream, frameEnd, 7, nil)
	stream = appendFrame(stream, frameData, 8, []byte("next request"))
	fr := newFrameReader(nil, bytes.NewReader(stream))

	f, err := fr.nextView()
	if err != nil {
		t.Fatal(err)
	}
	batch := []frame{f}
	for fr.buffered(7) {
		f, err := fr.nextView()
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, f)
		if f.typ == frameEnd {
			break
		}
	}
	if len(batch) != 3 {
		t.Fatalf("batch of %d frames, want 3", len(batch))
	}
	if &batch[1].payload[0] != &fr.buf[frameHeaderLen+len(batch[0].payload)+frameHeaderLen] {
		t.Fatal("nextView copied the payload")
	}
	detachPayloads(batch)
	for i := range fr.buf {
		fr.buf[i] = 'X'
	}
	if got := string(batch[0].payload); got != "200 OK\x00Content-Type\x00text/plain" {
		t.Errorf("headers after the buffer changed: %q", got)
	}
	if got := string(batch[1].payload); got != "hello" {
		t.Errorf("data after the buffer changed: %q", got)
	}
	if batch[2].payload != nil {
		t.Errorf("end frame got a payload: %q", batch[2].payload)
	}
	_ = append(batch[0].payload, "!!!!!"...)
	if got := string(batch[1].payload); got != "hello" {
		t.Errorf("an append to one payload changed the next: %q", got)
	}

	// next still hands out copies of its own.
	fr = newFrameReader(nil, bytes.NewReader(stream))
	f, err = fr.next()
	if err != nil {
		t.Fatal(err)
	}
	for i := range fr.buf {
		fr.buf[i] = 'X'
	}
	if got := string(f.payload); got != "200 OK\x00Content-Type\x00text/plain" {
		t.Errorf("next: payload changed with the buffer: %q", got)
	}
}
