package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/labstack/echo/v4"
	_ "github.com/mattn/go-sqlite3" // the driver behind gorm.io/driver/sqlite

	"daiban/store"
)

// sqliteCommits measures the disk's durable commit rate as the server sees
// it: the server's own DSN (WAL, synchronous=FULL, immediate transactions),
// one connection, one single-row INSERT per transaction.
func sqliteCommits(ctx context.Context, path string, warmup, duration time.Duration) (Result, error) {
	removeDB(path)
	defer removeDB(path)
	db, err := sql.Open("sqlite3", store.SQLiteDSN(path))
	if err != nil {
		return Result{}, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE commits (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, body TEXT NOT NULL)`); err != nil {
		return Result{}, fmt.Errorf("sqlite baseline: %w", err)
	}
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		return Result{}, fmt.Errorf("sqlite baseline: journal_mode %q, %v", mode, err)
	}
	body := "a row about as long as an event's note: 便民代办 load baseline"
	res, err := drive(ctx, "sqlite-commit", 1, warmup, duration, func(ctx context.Context, _ int, rec *recorder) (int, error) {
		var fatal error
		rec.time("commit", func() (bool, string) {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				fatal = err
				return false, err.Error()
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO commits (at, body) VALUES (?, ?)`, time.Now().UnixNano(), body); err != nil {
				tx.Rollback()
				fatal = err
				return false, err.Error()
			}
			if err := tx.Commit(); err != nil {
				fatal = err
				return false, err.Error()
			}
			return true, ""
		})
		if fatal != nil && ctx.Err() == nil {
			return 0, fatal
		}
		return 0, nil
	})
	res.Target = "file:" + path + " (store.SQLiteDSN)"
	return res, err
}

func removeDB(path string) {
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			fmt.Fprintln(os.Stderr, "warning:", err)
		}
	}
}

// fixedJSON measures the HTTP ceiling of this machine and client: an Echo v4
// server in this process on a loopback port whose one handler answers a
// fixed small JSON body, driven by the same client machinery and worker
// count as the scenarios.
func fixedJSON(ctx context.Context, clients int, warmup, duration time.Duration) (Result, error) {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	type status struct {
		ReceiptNo string `json:"receipt_no"`
		Status    string `json:"status"`
		ItemName  string `json:"item_name"`
		Overdue   bool   `json:"overdue"`
	}
	body := status{ReceiptNo: "25000001AX", Status: "processing", ItemName: "城乡居民最低生活保障", Overdue: false}
	e.GET("/fixed", func(c echo.Context) error { return c.JSON(http.StatusOK, body) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Result{}, err
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 120 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	a := &api{base: "http://" + ln.Addr().String(), http: newHTTPClient(clients)}
	defer a.http.CloseIdleConnections()
	res, err := drive(ctx, "fixed-json", clients, warmup, duration, func(ctx context.Context, _ int, rec *recorder) (int, error) {
		a.timed(ctx, rec, "fixed-json", http.MethodGet, "/fixed", "", nil, false, nil)
		return 0, nil
	})
	res.Target = a.base + "/fixed (in-process Echo v4)"
	return res, err
}
