package uwsgi

import (
	"bytes"
	"io"
	"os"
)

// spoolMemory is the largest chunked request body kept in memory; a
// larger one goes to a file.
const spoolMemory = 1 << 20

// spool reads a request body of unknown length, in memory up to
// spoolMemory and then in an unlinked temporary file in dir ("" means
// os.TempDir()), and returns it ready to be read with its size. Closing
// it releases the file.
func spool(body io.Reader, dir string) (io.ReadCloser, int64, error) {
	var mem bytes.Buffer
	n, err := io.Copy(&mem, io.LimitReader(body, spoolMemory+1))
	if err != nil {
		return nil, 0, err
	}
	if n <= spoolMemory {
		return io.NopCloser(bytes.NewReader(mem.Bytes())), n, nil
	}
	f, err := os.CreateTemp(dir, "gowsgi-uwsgi-body-")
	if err != nil {
		return nil, 0, err
	}
	// Unlinked at once: the file goes with its descriptor, whatever happens.
	os.Remove(f.Name())
	if _, err := f.Write(mem.Bytes()); err != nil {
		f.Close()
		return nil, 0, err
	}
	m, err := io.Copy(f, body)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, n + m, nil
}
