//go:build !linux

package store

import "errors"

const writerNice = 0

func raisePriority() (int, error) { return 0, errors.New("thread priorities are set on Linux only") }
