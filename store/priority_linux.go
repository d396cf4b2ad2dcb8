package store

import "syscall"

// writerNice is the writer thread's scheduling priority: the highest an
// ordinary (not real-time) thread can have. The writer is the one serial
// stage of every write, and it runs only while it has commits to make; when
// it waits for a core behind request handlers, every write waits with it.
const writerNice = -20

// raisePriority gives the calling OS thread writerNice; it needs root or
// CAP_SYS_NICE. It returns the thread's id.
func raisePriority() (tid int, err error) {
	tid = syscall.Gettid()
	return tid, syscall.Setpriority(syscall.PRIO_PROCESS, tid, writerNice)
}
