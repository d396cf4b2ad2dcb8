package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// memStatus is a process's resident set now and its high-water mark, in kB,
// from /proc/PID/status.
type memStatus struct{ rssKB, hwmKB int64 }

func parseStatus(r io.Reader) (memStatus, error) {
	var m memStatus
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return m, fmt.Errorf("unexpected %s line %q", name, sc.Text())
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return m, err
		}
		if name == "VmRSS" {
			m.rssKB = n
		} else {
			m.hwmKB = n
		}
	}
	if err := sc.Err(); err != nil {
		return m, err
	}
	if m.rssKB == 0 {
		return m, fmt.Errorf("no VmRSS")
	}
	return m, nil
}

func readStatus(pid int) (memStatus, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memStatus{}, err
	}
	defer f.Close()
	return parseStatus(f)
}

// clockTick is the unit of utime and stime in /proc/PID/stat (USER_HZ,
// 100 on every Linux architecture Go runs on).
const clockTick = 10 * time.Millisecond

// parseCPU is the CPU time a process has used (user + system) from the
// contents of /proc/PID/stat.
func parseCPU(stat []byte) (time.Duration, error) {
	// The command name may hold spaces and parentheses: fields follow the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed stat %q", stat)
	}
	f := strings.Fields(string(stat[i+1:]))
	// After the name: state(3) ppid … utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("short stat %q", stat)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("stat times %q %q", f[11], f[12])
	}
	return time.Duration(u+s) * clockTick, nil
}

func readCPU(pid string) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	return parseCPU(b)
}

// procSampler watches the server (when its pid is known) and this process
// while a scenario runs: the server's peak VmRSS, and the CPU both used in
// the measured window, in cores.
type procSampler struct {
	pid  int
	stop chan struct{}
	wg   sync.WaitGroup

	peakKB int64
	last   memStatus
	err    error

	from               time.Time // start of the measured window
	srv0, cli0         time.Duration
	haveStart          bool
	serverCPU, selfCPU float64
}

func startSampler(pid int, warmup time.Duration) *procSampler {
	s := &procSampler{pid: pid, stop: make(chan struct{}), from: time.Now().Add(warmup)}
	s.wg.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			s.sample(false)
			select {
			case <-s.stop:
				s.sample(true)
				return
			case <-t.C:
			}
		}
	})
	return s
}

func (s *procSampler) sample(final bool) {
	now := time.Now()
	if s.pid != 0 && s.err == nil {
		m, err := readStatus(s.pid)
		if err != nil {
			s.err = err
		} else {
			s.peakKB, s.last = max(s.peakKB, m.rssKB), m
		}
	}
	if now.Before(s.from) || (s.haveStart && !final) {
		return
	}
	srv, _ := s.serverTime()
	cli, _ := readCPU("self")
	if !s.haveStart {
		s.srv0, s.cli0, s.haveStart = srv, cli, true
		s.from = now
		return
	}
	secs := now.Sub(s.from).Seconds()
	if secs > 0 {
		s.serverCPU = (srv - s.srv0).Seconds() / secs
		s.selfCPU = (cli - s.cli0).Seconds() / secs
	}
}

func (s *procSampler) serverTime() (time.Duration, error) {
	if s.pid == 0 {
		return 0, nil
	}
	return readCPU(strconv.Itoa(s.pid))
}

// done stops sampling and fills the result's memory and CPU figures.
func (s *procSampler) done(r *Result) error {
	close(s.stop)
	s.wg.Wait()
	r.ClientCPU = s.selfCPU
	if s.pid == 0 {
		return nil
	}
	r.RSSPeakMB, r.RSSHWMMB, r.ServerCPU = float64(s.peakKB)/1024, float64(s.last.hwmKB)/1024, s.serverCPU
	return s.err
}
