package rw

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// readFromCounter records whether io.Copy took its ReadFrom shortcut.
type readFromCounter struct {
	bytes.Buffer
	readFrom int
}

func (w *readFromCounter) ReadFrom(r io.Reader) (int64, error) {
	w.readFrom++
	return w.Buffer.ReadFrom(r)
}

func TestWriterOnlyHidesReadFrom(t *testing.T) {
	var dst readFromCounter
	if _, err := io.Copy(&dst, struct{ io.Reader }{strings.NewReader("direct")}); err != nil || dst.readFrom != 1 {
		t.Fatalf("the counter itself: ReadFrom used %d times, err %v", dst.readFrom, err)
	}
	dst = readFromCounter{}
	n, err := io.Copy(WriterOnly{&dst}, struct{ io.Reader }{strings.NewReader("through Write")})
	if err != nil || n != int64(len("through Write")) || dst.String() != "through Write" {
		t.Fatalf("copy through WriterOnly: %d %v %q", n, err, dst.String())
	}
	if dst.readFrom != 0 {
		t.Errorf("io.Copy took the ReadFrom shortcut %d times through WriterOnly", dst.readFrom)
	}
	if _, ok := any(WriterOnly{&dst}).(io.ReaderFrom); ok {
		t.Error("WriterOnly exposes ReadFrom")
	}
}
