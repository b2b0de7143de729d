package fleet

import (
	"bytes"
	"sync"
)

// maxLine is the longest line a lineWriter hands on whole; a longer one
// (a result line can be long) is handed on in pieces of this size, and a
// result line that long is not taken.
const maxLine = maxResultLine

// lineWriter cuts what a helper prints into lines. It is safe for
// concurrent use (a helper's stdout and stderr).
type lineWriter struct {
	mu   sync.Mutex
	buf  []byte
	line func(string)
}

func newLineWriter(line func(string)) *lineWriter { return &lineWriter{line: line} }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.line(string(bytes.TrimSuffix(w.buf[:i], []byte("\r"))))
		w.buf = w.buf[i+1:]
	}
	for len(w.buf) > maxLine {
		w.line(string(w.buf[:maxLine]))
		w.buf = w.buf[maxLine:]
	}
	return len(p), nil
}

// Close hands on a last line without a newline.
func (w *lineWriter) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.line(string(w.buf))
		w.buf = nil
	}
}
