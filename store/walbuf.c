/*
** walbuf is SQLite's default VFS with one change: the writes to a WAL file
** are gathered and reach the file as one write per transaction. SQLite
** writes each WAL frame as two writes (a 24-byte header, then the page), so
** a commit of a hundred pages is two hundred system calls, which on this
** kind of virtual machine cost more than the statements that made the pages.
**
** Nothing is held past the end of a transaction: the buffer is written out
** when the commit frame (a frame header with a non-zero database size)
** has been added, before SQLite syncs the WAL or publishes the frames in
** the WAL index, so other connections and the disk see what they would have
** seen without it. It is also written out before any read, sync, size
** query, truncation or close of the file, and whenever a write is not
** contiguous with it. Every other file passes through untouched.
*/
#include <stdlib.h>
#include <string.h>
#include "walbuf.h"

#define WALBUF_CAP (1 << 20)
/* The default VFS takes at most 128 KiB in one write (it masks the count
** with 0x1ffff), so a flush writes in pieces of 31 pages and their headers. */
#define WALBUF_PIECE (31 * (4096 + 24))

typedef struct WalFile {
  sqlite3_file base;
  sqlite3_file *real;    /* the default VFS's file, right after this struct */
  char *buf;
  int len;               /* bytes pending, for [off, off+len) */
  sqlite3_int64 off;
  int commitFrame;       /* the last write was a commit frame's header */
} WalFile;

static sqlite3_vfs *realVfs;
static long long callsIn, callsOut; /* writes SQLite made, writes passed on */
static sqlite3_vfs walVfs;
static sqlite3_io_methods walMethods;

static int flush(WalFile *f) {
  int rc = SQLITE_OK;
  int done = 0;
  while (done < f->len && rc == SQLITE_OK) {
    int n = f->len - done < WALBUF_PIECE ? f->len - done : WALBUF_PIECE;
    rc = f->real->pMethods->xWrite(f->real, f->buf + done, n, f->off + done);
    __atomic_fetch_add(&callsOut, 1, __ATOMIC_RELAXED);
    done += n;
  }
  f->len = 0;
  return rc;
}

/* Returns the error of writing out the pending bytes, if any. */
#define FLUSH_OR_RETURN(f) do { int rc_ = flush(f); if (rc_ != SQLITE_OK) return rc_; } while (0)

static int direct(WalFile *f, const void *data, int n, sqlite3_int64 off) {
  __atomic_fetch_add(&callsOut, 1, __ATOMIC_RELAXED);
  return f->real->pMethods->xWrite(f->real, data, n, off);
}

static int walClose(sqlite3_file *p) {
  WalFile *f = (WalFile *)p;
  int rc = flush(f);
  int rc2 = f->real->pMethods->xClose(f->real);
  free(f->buf);
  f->buf = 0;
  return rc != SQLITE_OK ? rc : rc2;
}

static int walRead(sqlite3_file *p, void *out, int n, sqlite3_int64 off) {
  WalFile *f = (WalFile *)p;
  FLUSH_OR_RETURN(f);
  return f->real->pMethods->xRead(f->real, out, n, off);
}

static int walWrite(sqlite3_file *p, const void *data, int n, sqlite3_int64 off) {
  WalFile *f = (WalFile *)p;
  int commit = 0;
  __atomic_fetch_add(&callsIn, 1, __ATOMIC_RELAXED);
  if (n == 24) {
    /* A frame header: bytes 4-7 hold the database size after a commit,
    ** zero in the frames before it. */
    const unsigned char *h = (const unsigned char *)data;
    f->commitFrame = (h[4] | h[5] | h[6] | h[7]) != 0;
  } else {
    commit = f->commitFrame;
    f->commitFrame = 0;
  }
  if (f->buf == 0) {
    f->buf = malloc(WALBUF_CAP);
    if (f->buf == 0) return direct(f, data, n, off);
  }
  if (f->len > 0 && (off != f->off + f->len || f->len + n > WALBUF_CAP)) {
    FLUSH_OR_RETURN(f);
  }
  if (n > WALBUF_PIECE) return direct(f, data, n, off);
  if (f->len == 0) f->off = off;
  memcpy(f->buf + f->len, data, n);
  f->len += n;
  return commit ? flush(f) : SQLITE_OK;
}

static int walTruncate(sqlite3_file *p, sqlite3_int64 size) {
  WalFile *f = (WalFile *)p;
  FLUSH_OR_RETURN(f);
  return f->real->pMethods->xTruncate(f->real, size);
}

static int walSync(sqlite3_file *p, int flags) {
  WalFile *f = (WalFile *)p;
  FLUSH_OR_RETURN(f);
  return f->real->pMethods->xSync(f->real, flags);
}

static int walFileSize(sqlite3_file *p, sqlite3_int64 *size) {
  WalFile *f = (WalFile *)p;
  FLUSH_OR_RETURN(f);
  return f->real->pMethods->xFileSize(f->real, size);
}

static int walLock(sqlite3_file *p, int l) {
  WalFile *f = (WalFile *)p;
  return f->real->pMethods->xLock(f->real, l);
}

static int walUnlock(sqlite3_file *p, int l) {
  WalFile *f = (WalFile *)p;
  return f->real->pMethods->xUnlock(f->real, l);
}

static int walCheckReservedLock(sqlite3_file *p, int *out) {
  WalFile *f = (WalFile *)p;
  return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int walFileControl(sqlite3_file *p, int op, void *arg) {
  WalFile *f = (WalFile *)p;
  FLUSH_OR_RETURN(f);
  return f->real->pMethods->xFileControl(f->real, op, arg);
}

static int walSectorSize(sqlite3_file *p) {
  WalFile *f = (WalFile *)p;
  return f->real->pMethods->xSectorSize(f->real);
}

static int walDeviceCharacteristics(sqlite3_file *p) {
  WalFile *f = (WalFile *)p;
  return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int walShmMap(sqlite3_file *p, int pg, int sz, int ext, void volatile **pp) {
  WalFile *f = (WalFile *)p;
  return f->real->pMethods->xShmMap(f->real, pg, sz, ext, pp);
}

static int walShmLock(sqlite3_file *p, int off, int n, int flags) {
  WalFile *f = (WalFile *)p;
  return f->real->pMethods->xShmLock(f->real, off, n, flags);
}

static void walShmBarrier(sqlite3_file *p) {
  WalFile *f = (WalFile *)p;
  f->real->pMethods->xShmBarrier(f->real);
}

static int walShmUnmap(sqlite3_file *p, int del) {
  WalFile *f = (WalFile *)p;
  return f->real->pMethods->xShmUnmap(f->real, del);
}

static int walFetch(sqlite3_file *p, sqlite3_int64 off, int n, void **pp) {
  WalFile *f = (WalFile *)p;
  FLUSH_OR_RETURN(f);
  return f->real->pMethods->xFetch(f->real, off, n, pp);
}

static int walUnfetch(sqlite3_file *p, sqlite3_int64 off, void *ptr) {
  WalFile *f = (WalFile *)p;
  return f->real->pMethods->xUnfetch(f->real, off, ptr);
}

static int walOpen(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *p, int flags, int *outFlags) {
  WalFile *f = (WalFile *)p;
  int rc;
  (void)vfs;
  if ((flags & SQLITE_OPEN_WAL) == 0) {
    /* Not a WAL: the default VFS's file takes the whole slot. */
    return realVfs->xOpen(realVfs, name, p, flags, outFlags);
  }
  memset(f, 0, sizeof(*f));
  f->real = (sqlite3_file *)&f[1];
  rc = realVfs->xOpen(realVfs, name, f->real, flags, outFlags);
  if (f->real->pMethods == 0) {
    f->base.pMethods = 0;
    return rc;
  }
  walMethods.iVersion = f->real->pMethods->iVersion < 3 ? f->real->pMethods->iVersion : 3;
  f->base.pMethods = &walMethods;
  return rc;
}

void walbuf_counts(long long *in, long long *out) {
  *in = __atomic_load_n(&callsIn, __ATOMIC_RELAXED);
  *out = __atomic_load_n(&callsOut, __ATOMIC_RELAXED);
}

int walbuf_register(const char *name) {
  if (sqlite3_vfs_find(name)) return SQLITE_OK;
  realVfs = sqlite3_vfs_find(0);
  if (realVfs == 0) return SQLITE_NOMEM;
  walVfs = *realVfs;
  walVfs.pNext = 0;
  walVfs.zName = name;
  walVfs.szOsFile = (int)sizeof(WalFile) + realVfs->szOsFile;
  walVfs.xOpen = walOpen;
  walMethods.xClose = walClose;
  walMethods.xRead = walRead;
  walMethods.xWrite = walWrite;
  walMethods.xTruncate = walTruncate;
  walMethods.xSync = walSync;
  walMethods.xFileSize = walFileSize;
  walMethods.xLock = walLock;
  walMethods.xUnlock = walUnlock;
  walMethods.xCheckReservedLock = walCheckReservedLock;
  walMethods.xFileControl = walFileControl;
  walMethods.xSectorSize = walSectorSize;
  walMethods.xDeviceCharacteristics = walDeviceCharacteristics;
  walMethods.xShmMap = walShmMap;
  walMethods.xShmLock = walShmLock;
  walMethods.xShmBarrier = walShmBarrier;
  walMethods.xShmUnmap = walShmUnmap;
  walMethods.xFetch = walFetch;
  walMethods.xUnfetch = walUnfetch;
  return sqlite3_vfs_register(&walVfs, 0);
}
