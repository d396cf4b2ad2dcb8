package store

// #include <stdlib.h>
// #include "walbuf.h"
import "C"

import "fmt"

// walbufVFS is SQLite's default VFS with the WAL's writes gathered into one
// per transaction (see walbuf.c); every SQLite connection opens through it.
const walbufVFS = "daiban-walbuf"

func init() {
	// The name lives as long as the program: SQLite keeps the pointer.
	if rc := C.walbuf_register(C.CString(walbufVFS)); rc != 0 {
		panic(fmt.Sprintf("register the %s SQLite VFS: code %d", walbufVFS, rc))
	}
}

// walbufCounts reports how many writes SQLite made to WAL files and how many
// of them reached the files, gathered.
func walbufCounts() (in, out int64) {
	var i, o C.longlong
	C.walbuf_counts(&i, &o)
	return int64(i), int64(o)
}
