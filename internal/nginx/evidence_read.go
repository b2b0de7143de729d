package nginx

// Reading the evidence: streamed line by line from a mark, in memory that
// does not grow with the log (a fixed histogram per color), and strict
// about what a line may hold, since anyone who can write the file could
// put anything in it. Nothing read is ever quoted back.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bluegreen-action/bluegreen/internal/color"
)

// maxEvidenceLine caps one line; a real one is under 100 bytes.
const maxEvidenceLine = 1024

// Stats is what nginx recorded for one color.
type Stats struct {
	// Requests is how many requests the color answered (through nginx).
	Requests int64
	// Errors is how many of them nginx answered with a 5xx status.
	Errors  int64
	latency histogram
}

// ErrorRate is Errors / Requests; 0 without requests.
func (s *Stats) ErrorRate() float64 {
	if s.Requests == 0 {
		return 0
	}
	return float64(s.Errors) / float64(s.Requests)
}

// P95 is the 95th percentile of $request_time, at most 1.6 % above the
// true value (the histogram's resolution; exact below 128 ms).
func (s *Stats) P95() time.Duration { return s.latency.quantile(950) }

// Evidence is what nginx logged in a window, by color.
type Evidence struct {
	Blue, Green Stats
	// Unattributed counts requests no color answered: nginx answered
	// itself (the marker, a 503 of its own) or an address neither color has.
	Unattributed int64
	// Malformed counts lines that are not evidence lines.
	Malformed int64
	// Restarted is true when the log was shorter than the mark (rotated or
	// truncated), so it was read from its start.
	Restarted bool
}

// Of returns the stats of c.
func (e *Evidence) Of(c color.Color) *Stats {
	if c == color.Green {
		return &e.Green
	}
	return &e.Blue
}

// EvidenceReader reads an evidence log.
type EvidenceReader struct {
	// Path is the log file as this process sees it.
	Path string
	// Addrs maps an upstream address as nginx writes it ("127.0.0.1:8081",
	// "[::1]:8081") to the color it belongs to; EvidenceAddrs builds it.
	Addrs map[string]color.Color
}

// Mark returns the log's current end, where the next window starts; 0 when
// nginx has not created it yet.
func (r *EvidenceReader) Mark() (int64, error) {
	fi, err := os.Stat(r.Path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("failed to read evidence log %s: %w", r.Path, err)
	}
	return fi.Size(), nil
}

// Since reads the evidence from mark to the log's last complete line and
// returns it with the mark the next window starts at. A line nginx is
// still writing is left for the next window.
func (r *EvidenceReader) Since(mark int64) (Evidence, int64, error) {
	var ev Evidence
	f, err := os.OpenFile(r.Path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, os.ErrNotExist) {
		return ev, 0, nil
	}
	if err != nil {
		return ev, mark, fmt.Errorf("failed to open evidence log %s: %w", r.Path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ev, mark, fmt.Errorf("failed to read evidence log %s: %w", r.Path, err)
	}
	if !fi.Mode().IsRegular() {
		return ev, mark, fmt.Errorf("failed to read evidence log %s: it is not a regular file", r.Path)
	}
	if fi.Size() < mark {
		mark, ev.Restarted = 0, true
	}
	if _, err := f.Seek(mark, io.SeekStart); err != nil {
		return ev, mark, fmt.Errorf("failed to read evidence log %s: %w", r.Path, err)
	}
	br := bufio.NewReaderSize(io.LimitReader(f, fi.Size()-mark), maxEvidenceLine)
	pos := mark
	long := false // inside a line longer than the buffer
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			pos += int64(len(line))
			if !long {
				ev.Malformed++
			}
			long = true
			continue
		}
		if err != nil { // io.EOF: an incomplete last line stays for later
			if long {
				pos += int64(len(line))
			}
			return ev, pos, nil
		}
		pos += int64(len(line))
		if long {
			long = false
			continue
		}
		r.add(&ev, line[:len(line)-1])
	}
}

// add counts one line.
func (r *EvidenceReader) add(ev *Evidence, line []byte) {
	status, ms, addr, ok := parseEvidenceLine(string(line))
	if !ok {
		ev.Malformed++
		return
	}
	c, known := r.Addrs[addr]
	if !known || c == color.None {
		ev.Unattributed++
		return
	}
	s := ev.Of(c)
	s.Requests++
	if status >= 500 {
		s.Errors++
	}
	s.latency.add(ms)
}

// evidenceLineRE is an evidence line, strictly: nginx writes $msec and
// $request_time with three decimals, $status as three digits, and the
// upstream fields without quotes or backslashes (escape=default would
// write them as \x22 and \x5C).
var evidenceLineRE = regexp.MustCompile(`^bg1 [0-9]{1,12}\.[0-9]{3} ([1-5][0-9]{2}) ([0-9]{1,7})\.([0-9]{3}) "([^"\\]{1,512})" "[^"\\]{0,512}"$`)

// parseEvidenceLine reads `bg1 <msec> <status> <request_time> "<addrs>"
// "<statuses>"` and returns the status, the request time in milliseconds
// and the last upstream address tried ("" when none was).
func parseEvidenceLine(line string) (status int, ms int64, addr string, ok bool) {
	m := evidenceLineRE.FindStringSubmatch(line)
	if m == nil {
		return 0, 0, "", false
	}
	status, _ = strconv.Atoi(m[1])
	secs, _ := strconv.ParseInt(m[2], 10, 64)
	millis, _ := strconv.ParseInt(m[3], 10, 64)
	addrs := m[4]
	// "a, b" lists the servers tried in turn, "a : b" the groups an
	// internal redirect went through: the last one answered.
	for _, sep := range []string{" : ", ", "} {
		if i := strings.LastIndex(addrs, sep); i >= 0 {
			addrs = addrs[i+len(sep):]
		}
	}
	if addrs == "-" {
		addrs = ""
	}
	return status, secs*1000 + millis, addrs, true
}

// EvidenceAddrs maps every address nginx may reach a color at to it: the
// host port, the container address and each server of the template data.
// A host name is resolved, as nginx logs the address it connected to.
func EvidenceAddrs(ctx context.Context, colors ...TemplateData) map[string]color.Color {
	out := map[string]color.Color{}
	add := func(c color.Color, host string, port int) {
		if host == "" || port == 0 {
			return
		}
		if net.ParseIP(host) != nil {
			out[net.JoinHostPort(host, strconv.Itoa(port))] = c
			return
		}
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		ips, _ := net.DefaultResolver.LookupHost(ctx, host)
		for _, ip := range ips {
			out[net.JoinHostPort(ip, strconv.Itoa(port))] = c
		}
	}
	for _, d := range colors {
		c, err := color.Parse(d.Color)
		if err != nil {
			continue
		}
		add(c, d.Host, d.Port)
		add(c, d.ContainerIP, d.ContainerPort)
		add(c, d.ContainerName, d.ContainerPort)
		for _, s := range d.Servers {
			add(c, s.Host, s.Port)
			add(c, s.ContainerIP, s.ContainerPort)
			add(c, s.ContainerName, s.ContainerPort)
		}
	}
	return out
}

// histogram counts latencies in milliseconds in fixed memory: exact below
// 128 ms, then 64 buckets per power of two (within 1.6 %), up to 2^32 ms.
type histogram struct {
	counts [histBuckets]int64
	n      int64
}

const (
	histExact   = 128
	histSub     = 64
	histMaxExp  = 26
	histBuckets = histExact + histMaxExp*histSub
)

func histIndex(ms int64) int {
	if ms < 0 {
		ms = 0
	}
	if ms < histExact {
		return int(ms)
	}
	e := bits.Len64(uint64(ms)) - 7
	if e > histMaxExp {
		return histBuckets - 1
	}
	return histExact + (e-1)*histSub + int(ms>>e) - histSub
}

// histUpper is the largest value bucket i holds.
func histUpper(i int) int64 {
	if i < histExact {
		return int64(i)
	}
	e := (i-histExact)/histSub + 1
	m := int64((i-histExact)%histSub + histSub)
	return (m+1)<<e - 1
}

func (h *histogram) add(ms int64) {
	h.counts[histIndex(ms)]++
	h.n++
}

// quantile returns the bound of the bucket that holds the value of rank
// ceil(permille/1000 × n) (nearest rank), so a p95 is never reported below
// the truth. Integer arithmetic: 0.95 × 20 in floating point is not 19.
func (h *histogram) quantile(permille int64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := (permille*h.n + 999) / 1000
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(histUpper(i)) * time.Millisecond
		}
	}
	return time.Duration(histUpper(histBuckets-1)) * time.Millisecond
}
