package wsgi

import (
	"fmt"
	"net/http"
	"os"
	"syscall"

	"github.com/gowsgi/gowsgi/filewrap"
	"github.com/gowsgi/gowsgi/internal/reqctx"
)

func closeFD(fd int) { _ = syscall.Close(fd) }

// file sends the file the worker passed for wsgi.file_wrapper with package
// filewrap (sendfile, single ranges, HEAD), from the worker's offset and up
// to the application's Content-Length (PEP 3333).
func (ex *exchange) file(f frame) bool {
	fl := os.NewFile(uintptr(f.fd), "wsgi.file_wrapper")
	defer fl.Close()
	offset, length, err := fileSpec(f.payload)
	if err != nil || ex.status == 0 || ex.wroteHeader {
		ex.h.log.Error("wsgi: bad file frame from the worker", append(reqctx.LogAttrs(ex.r), "err", err)...)
		ex.abort()
		ex.failStatus(http.StatusInternalServerError, fmt.Errorf("%w: bad file frame", ErrBadResponse))
		return false
	}
	if ex.xsendfile != "" {
		return true // the X-Sendfile file replaces the body
	}
	if ex.contentLen >= 0 && (length < 0 || length > ex.contentLen) {
		length = ex.contentLen
	}
	ex.wroteHeader = true
	ex.fileSent = true
	ex.applyHeader()
	if err := filewrap.Send(ex.w, ex.r, ex.status, fl, offset, length); err != nil {
		ex.abort()
		filewrap.Fail(ex.w, ex.r, ex.h.log, err)
		return false
	}
	return true
}
