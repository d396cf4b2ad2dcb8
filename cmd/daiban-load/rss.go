package main

import (
	"bufio"
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

// rssSampler polls a process's VmRSS while a scenario runs and keeps the peak.
type rssSampler struct {
	pid  int
	stop chan struct{}
	wg   sync.WaitGroup
	peak int64
	last memStatus
	err  error
}

func startRSS(pid int) *rssSampler {
	s := &rssSampler{pid: pid, stop: make(chan struct{})}
	if pid == 0 {
		return s
	}
	s.wg.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			m, err := readStatus(pid)
			if err != nil {
				s.err = err
				return
			}
			s.peak, s.last = max(s.peak, m.rssKB), m
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	})
	return s
}

// done stops sampling and returns the peak VmRSS seen and the kernel's VmHWM, in MB.
func (s *rssSampler) done() (peakMB, hwmMB float64, err error) {
	if s.pid == 0 {
		return 0, 0, nil
	}
	close(s.stop)
	s.wg.Wait()
	return float64(s.peak) / 1024, float64(s.last.hwmKB) / 1024, s.err
}
