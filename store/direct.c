/*
** direct.c: one call from Go per statement run. mattn/go-sqlite3 makes a cgo
** call for every bound argument and three or four for every column it reads,
** and database/sql converts each value again; on the hot statements that cost
** more than SQLite's own work. Here the arguments arrive in one buffer and
** the row leaves in another.
**
** The statements are SQLite's public API, compiled into the binary by
** mattn/go-sqlite3 (3.45); the few declarations needed are below.
*/
#include <string.h>
#include "direct.h"

typedef long long sqlite3_int64;
typedef void (*sqlite3_destructor_type)(void *);
#define SQLITE_TRANSIENT ((sqlite3_destructor_type)-1)
#define SQLITE_OK 0
#define SQLITE_RANGE 25
#define SQLITE_ROW 100
#define SQLITE_DONE 101
#define SQLITE_INTEGER 1
#define SQLITE_FLOAT 2
#define SQLITE_TEXT 3
#define SQLITE_BLOB 4
#define SQLITE_NULL 5

int sqlite3_prepare_v2(sqlite3 *, const char *, int, sqlite3_stmt **, const char **);
int sqlite3_bind_int64(sqlite3_stmt *, int, sqlite3_int64);
int sqlite3_bind_double(sqlite3_stmt *, int, double);
int sqlite3_bind_text(sqlite3_stmt *, int, const char *, int, sqlite3_destructor_type);
int sqlite3_bind_blob(sqlite3_stmt *, int, const void *, int, sqlite3_destructor_type);
int sqlite3_bind_null(sqlite3_stmt *, int);
int sqlite3_bind_parameter_count(sqlite3_stmt *);
int sqlite3_step(sqlite3_stmt *);
int sqlite3_reset(sqlite3_stmt *);
int sqlite3_clear_bindings(sqlite3_stmt *);
int sqlite3_finalize(sqlite3_stmt *);
sqlite3 *sqlite3_db_handle(sqlite3_stmt *);
sqlite3_int64 sqlite3_changes64(sqlite3 *);
int sqlite3_extended_errcode(sqlite3 *);
const char *sqlite3_errmsg(sqlite3 *);
void *sqlite3_db_mutex(sqlite3 *);
int sqlite3_column_count(sqlite3_stmt *);
int sqlite3_column_type(sqlite3_stmt *, int);
sqlite3_int64 sqlite3_column_int64(sqlite3_stmt *, int);
double sqlite3_column_double(sqlite3_stmt *, int);
const unsigned char *sqlite3_column_text(sqlite3_stmt *, int);
const void *sqlite3_column_blob(sqlite3_stmt *, int);
int sqlite3_column_bytes(sqlite3_stmt *, int);

/* Value tags, shared with direct.go. */
enum { TAG_NULL = 0, TAG_INT = 1, TAG_FLOAT = 2, TAG_TEXT = 3, TAG_BLOB = 4 };

int direct_prepare(sqlite3 *db, const char *sql, int n, sqlite3_stmt **out) {
  return sqlite3_prepare_v2(db, sql, n, out, 0);
}

int direct_finalize(sqlite3_stmt *st) { return sqlite3_finalize(st); }
int direct_errcode(sqlite3 *db) { return sqlite3_extended_errcode(db); }
const char *direct_errmsg(sqlite3 *db) { return sqlite3_errmsg(db); }
int direct_serialized(sqlite3 *db) { return sqlite3_db_mutex(db) != 0; }

static int bind(sqlite3_stmt *st, const unsigned char *a, int n) {
  int i = 0, k = 1, rc = SQLITE_OK;
  while (i < n && rc == SQLITE_OK) {
    unsigned char tag = a[i++];
    sqlite3_int64 v;
    double d;
    unsigned int len;
    switch (tag) {
    case TAG_NULL:
      rc = sqlite3_bind_null(st, k);
      break;
    case TAG_INT:
      memcpy(&v, a + i, 8);
      i += 8;
      rc = sqlite3_bind_int64(st, k, v);
      break;
    case TAG_FLOAT:
      memcpy(&d, a + i, 8);
      i += 8;
      rc = sqlite3_bind_double(st, k, d);
      break;
    default:
      memcpy(&len, a + i, 4);
      i += 4;
      /* TRANSIENT: SQLite copies, so nothing points into Go memory after
      ** the call returns. */
      if (tag == TAG_TEXT) {
        rc = sqlite3_bind_text(st, k, (const char *)a + i, (int)len, SQLITE_TRANSIENT);
      } else {
        rc = sqlite3_bind_blob(st, k, a + i, (int)len, SQLITE_TRANSIENT);
      }
      i += (int)len;
    }
    k++;
  }
  if (rc == SQLITE_OK && k - 1 != sqlite3_bind_parameter_count(st)) {
    rc = SQLITE_RANGE;
  }
  return rc;
}

/* rowSize is how many bytes the current row takes in out. */
static int rowSize(sqlite3_stmt *st) {
  int n = 0, nc = sqlite3_column_count(st);
  for (int c = 0; c < nc; c++) {
    switch (sqlite3_column_type(st, c)) {
    case SQLITE_INTEGER:
    case SQLITE_FLOAT:
      n += 9;
      break;
    case SQLITE_TEXT:
    case SQLITE_BLOB:
      n += 5 + sqlite3_column_bytes(st, c);
      break;
    default:
      n += 1;
    }
  }
  return n;
}

/* copyRow writes the current row into out, which has room for it. */
static int copyRow(sqlite3_stmt *st, unsigned char *out) {
  int o = 0, nc = sqlite3_column_count(st);
  for (int c = 0; c < nc; c++) {
    int t = sqlite3_column_type(st, c);
    if (t == SQLITE_INTEGER) {
      sqlite3_int64 v = sqlite3_column_int64(st, c);
      out[o++] = TAG_INT;
      memcpy(out + o, &v, 8);
      o += 8;
    } else if (t == SQLITE_FLOAT) {
      double d = sqlite3_column_double(st, c);
      out[o++] = TAG_FLOAT;
      memcpy(out + o, &d, 8);
      o += 8;
    } else if (t == SQLITE_TEXT || t == SQLITE_BLOB) {
      /* Ask for the pointer before the length, as SQLite's docs advise. */
      const void *p = t == SQLITE_TEXT ? (const void *)sqlite3_column_text(st, c) : sqlite3_column_blob(st, c);
      unsigned int len = (unsigned int)sqlite3_column_bytes(st, c);
      out[o++] = t == SQLITE_TEXT ? TAG_TEXT : TAG_BLOB;
      memcpy(out + o, &len, 4);
      o += 4;
      if (len > 0) {
        memcpy(out + o, p, len);
      }
      o += (int)len;
    } else {
      out[o++] = TAG_NULL;
    }
  }
  return o;
}

static void finish(sqlite3_stmt *st) {
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
}

/*
** direct_step binds args, steps once and returns SQLite's result code. On
** SQLITE_ROW the row is in out and *outLen is its length, unless it does not
** fit: then *outLen is minus the size it needs, the statement stays on the
** row and direct_row must be called with a buffer that large. On
** SQLITE_DONE *changes is the number of rows the statement changed. The
** statement is reset (and its bindings cleared) before returning, but for a
** row that did not fit.
*/
int direct_step(sqlite3_stmt *st, const unsigned char *args, int argsLen,
                unsigned char *out, int outCap, int *outLen, long long *changes) {
  *outLen = 0;
  *changes = 0;
  int rc = bind(st, args, argsLen);
  if (rc != SQLITE_OK) {
    finish(st);
    return rc;
  }
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    int need = rowSize(st);
    if (need > outCap) {
      *outLen = -need;
      return rc;
    }
    *outLen = copyRow(st, out);
  } else if (rc == SQLITE_DONE) {
    *changes = sqlite3_changes64(sqlite3_db_handle(st));
  } else {
    /* The error code of step is the extended one the caller reads. */
    rc = sqlite3_extended_errcode(sqlite3_db_handle(st));
  }
  finish(st);
  return rc;
}

/* direct_row copies the row a direct_step left pending and resets. */
int direct_row(sqlite3_stmt *st, unsigned char *out, int outCap, int *outLen) {
  int need = rowSize(st);
  if (need > outCap) {
    *outLen = -need;
    return SQLITE_ROW;
  }
  *outLen = copyRow(st, out);
  finish(st);
  return SQLITE_ROW;
}
