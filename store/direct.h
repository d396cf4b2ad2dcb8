/*
** direct.c runs a prepared SQLite statement in one call from Go: it binds
** every argument from one buffer, steps once and copies the row (if any)
** into another. See direct.go for the buffers' layout.
*/
#ifndef DAIBAN_DIRECT_H
#define DAIBAN_DIRECT_H

typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;

int direct_prepare(sqlite3 *db, const char *sql, int n, sqlite3_stmt **out);
int direct_step(sqlite3_stmt *st, const unsigned char *args, int argsLen,
                unsigned char *out, int outCap, int *outLen, long long *changes);
int direct_row(sqlite3_stmt *st, unsigned char *out, int outCap, int *outLen);
int direct_errcode(sqlite3 *db);
const char *direct_errmsg(sqlite3 *db);
/* Whether SQLite takes the connection's mutex on every call (not with _mutex=no). */
int direct_serialized(sqlite3 *db);
int direct_finalize(sqlite3_stmt *st);

#endif
