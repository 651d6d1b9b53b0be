package store

import (
	"os"
	"path/filepath"
	"testing"
)

func TestOpenCloseReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	s, err := Open(Options{Dir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	s, err = Open(Options{Dir: dir}, nil)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	// A second process (here: a second handle) must not open a database that is in use.
	if _, err := Open(Options{Dir: dir}, nil); err == nil {
		t.Fatal("opened a locked database twice")
	}
	s.Close()
}

func TestOpenRejectsBadDir(t *testing.T) {
	if _, err := Open(Options{}, nil); err == nil {
		t.Fatal("Open without a directory succeeded")
	}
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Options{Dir: f}, nil); err == nil {
		t.Fatal("Open on a regular file succeeded")
	}
}
