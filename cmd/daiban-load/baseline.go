package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
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
	mon := startSampler(0, warmup)
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
	mon.done(&res)
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

// fixedBody is what the fixed-JSON handler answers: about the size of a
// small status object.
type fixedBody struct {
	ReceiptNo string `json:"receipt_no"`
	Status    string `json:"status"`
	ItemName  string `json:"item_name"`
	Overdue   bool   `json:"overdue"`
}

// fixedEcho is an Echo v4 router with one handler that encodes a fixed body.
func fixedEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	body := fixedBody{ReceiptNo: "25000001AX", Status: "processing", ItemName: "城乡居民最低生活保障", Overdue: false}
	e.GET("/fixed", func(c echo.Context) error { return c.JSON(http.StatusOK, body) })
	return e
}

func serveFixed(ln net.Listener) *http.Server {
	srv := &http.Server{Handler: fixedEcho(), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 120 * time.Second}
	go srv.Serve(ln)
	return srv
}

// runFixedServer is the hidden mode fixed-json-server: it serves the fixed
// handler on a loopback port, prints the address, and stops on SIGTERM or
// when its standard input closes.
func runFixedServer(stdout io.Writer) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := serveFixed(ln)
	fmt.Fprintln(stdout, ln.Addr().String())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() { io.Copy(io.Discard, os.Stdin); stop() }()
	<-ctx.Done()
	srv.Close()
	return 0
}

// fixedServer is the fixed-JSON handler of the baseline, up for as many
// measurements as a run takes.
type fixedServer struct {
	base, where string
	pid         int
	stop        func()
}

// startFixed serves the fixed handler: by default from a child process, so
// that client and server are separate processes sharing the cores as they
// do with daiban; inProcess serves it from this process.
func startFixed(ctx context.Context, inProcess bool) (*fixedServer, error) {
	if inProcess {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		srv := serveFixed(ln)
		return &fixedServer{base: "http://" + ln.Addr().String(), where: "in-process Echo v4", stop: func() { srv.Close() }}, nil
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, "fixed-json-server")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := func() { stdin.Close(); cmd.Wait() }
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		stop()
		return nil, fmt.Errorf("fixed-json server: %w", err)
	}
	return &fixedServer{base: "http://" + strings.TrimSpace(addr), where: "Echo v4 in a child process", pid: cmd.Process.Pid, stop: stop}, nil
}

// measure drives the fixed handler with the same client machinery and
// worker count as the scenarios: the HTTP ceiling of this machine and client.
func (f *fixedServer) measure(ctx context.Context, clients int, warmup, duration time.Duration) (Result, error) {
	a := &api{base: f.base, http: newHTTPClient(clients)}
	defer a.http.CloseIdleConnections()
	mon := startSampler(f.pid, warmup)
	res, err := drive(ctx, "fixed-json", clients, warmup, duration, func(ctx context.Context, _ int, rec *recorder) (int, error) {
		a.timed(ctx, rec, "fixed-json", http.MethodGet, "/fixed", "", nil, false, nil)
		return 0, nil
	})
	mon.done(&res)
	res.RSSPeakMB, res.RSSHWMMB = 0, 0
	res.Target = f.base + "/fixed (" + f.where + ")"
	return res, err
}

// fixedJSON measures the fixed handler once, on a server of its own.
func fixedJSON(ctx context.Context, clients int, warmup, duration time.Duration, inProcess bool) (Result, error) {
	f, err := startFixed(ctx, inProcess)
	if err != nil {
		return Result{}, err
	}
	defer f.stop()
	return f.measure(ctx, clients, warmup, duration)
}
