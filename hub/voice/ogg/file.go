package ogg

import (
	"bufio"
	"fmt"
	"os"
)

// File is a Writer on a file of its own, through a buffer.
type File struct {
	*Writer
	f      *os.File
	buf    *bufio.Writer
	closed bool
}

// OpenFile opens path as os.OpenFile does (flag must allow writing) and
// starts a stream in it. The error of opening is os.OpenFile's.
func OpenFile(path string, flag int, perm os.FileMode) (*File, error) {
	f, err := os.OpenFile(path, flag, perm)
	if err != nil {
		return nil, err
	}
	buf := bufio.NewWriter(f)
	w, err := NewWriter(buf)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("start ogg stream %s: %w", path, err)
	}
	return &File{Writer: w, f: f, buf: buf}, nil
}

// Close ends the stream (see Writer.Close), flushes and closes the file; it
// returns the first error, a write error from before included. Closing
// again does nothing.
func (f *File) Close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	err := f.Writer.Close()
	if err == nil {
		err = f.buf.Flush()
	}
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	return err
}
