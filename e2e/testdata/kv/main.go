// Command kv plays both sides of the external-database test, built into a
// FROM scratch image:
//
//	kv db    a tiny database on :7000: a counter and the number of open
//	         connections, over a line protocol (INCR, GET, CONNS, PING), so a
//	         test can see that its data and its connections survive deploys
//	kv web   a web app on :8080 that holds one long-lived connection to
//	         DB_ADDR and answers / with "version=V color=C count=N", counting
//	         each request in the database; /health answers 200 while the
//	         database connection works
package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Println("usage: kv db|web")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "db":
		db()
	case "web":
		web()
	default:
		fmt.Println("usage: kv db|web")
		os.Exit(2)
	}
}

func db() {
	var count, conns atomic.Int64
	l, err := net.Listen("tcp", ":7000")
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("db listening on :7000")
	go func() {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
		<-sigs
		os.Exit(0)
	}()
	for {
		c, err := l.Accept()
		if err != nil {
			continue
		}
		conns.Add(1)
		go func() {
			defer conns.Add(-1)
			defer c.Close()
			sc := bufio.NewScanner(c)
			for sc.Scan() {
				var v int64
				switch strings.TrimSpace(sc.Text()) {
				case "INCR":
					v = count.Add(1)
				case "GET":
					v = count.Load()
				case "CONNS":
					v = conns.Load()
				case "PING":
				default:
					fmt.Fprintln(c, "ERR")
					continue
				}
				fmt.Fprintln(c, v)
			}
		}()
	}
}

// client is one long-lived database connection, used by one request at a
// time.
type client struct {
	mu   sync.Mutex
	conn net.Conn
	r    *bufio.Reader
}

func (c *client) do(cmd string) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := fmt.Fprintln(c.conn, cmd); err != nil {
		return 0, err
	}
	line, err := c.r.ReadString('\n')
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(line), 10, 64)
}

func web() {
	addr := os.Getenv("DB_ADDR")
	version, color := os.Getenv("VERSION"), os.Getenv("BLUEGREEN_COLOR")
	var conn net.Conn
	var err error
	for i := 0; i < 50; i++ {
		if conn, err = net.DialTimeout("tcp", addr, time.Second); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		fmt.Println("cannot reach the database:", err)
		os.Exit(1)
	}
	c := &client{conn: conn, r: bufio.NewReader(conn)}
	fmt.Printf("web %s (%s) connected to %s\n", version, color, addr)
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		if _, err := c.do("PING"); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		n, err := c.do("INCR")
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "version=%s color=%s count=%d\n", version, color, n)
	})
	go func() {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
		<-sigs
		os.Exit(0)
	}()
	if err := http.ListenAndServe(":8080", mux); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
}
