// Command shop is the stand-in for examples/app-with-database in the e2e
// tests, built into a FROM scratch image (no registry is reachable there,
// so postgres and redis are played by it too). One binary, by its first
// argument (or its name, for pg_isready):
//
//	shop db         a tiny database on :5432 that keeps its data in a file
//	                under DATA_DIR (a named volume), over a line protocol:
//	                SET k v, GET k, PING
//	pg_isready      exits 0 when the database on 127.0.0.1:5432 answers
//	sh -c "..."     runs pg_isready, or curl URL (exit 0 when it answers), as
//	                the CMD-SHELL healthchecks of official compose files do
//	shop cache      a cache on :6379 that answers PING
//	shop migrate    records "schema" = VERSION in the database; exits 1,
//	                changing nothing, when MIGRATE_FAIL is set
//	shop web        :8080 (or $PORT): / says "version=V color=C", /health is 200 while
//	                the database answers and has a schema,
//	                PUT /items/k stores the body, GET /items/k reads it
//	shop worker     waits for work (talks to the cache now and then)
//	shop scheduler  ticks once a second
//
// Every role exits at once on SIGTERM.
package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	go func() {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
		<-sigs
		os.Exit(0)
	}()
	role := filepath.Base(os.Args[0])
	if role == "sh" {
		os.Exit(shell(os.Args[1:]))
	}
	if role != "pg_isready" {
		if len(os.Args) < 2 {
			fmt.Println("usage: shop db|cache|migrate|web|worker|scheduler")
			os.Exit(2)
		}
		role = os.Args[1]
	}
	switch role {
	case "db":
		db()
	case "pg_isready":
		if _, err := query("127.0.0.1:5432", "PING"); err != nil {
			fmt.Println("no response:", err)
			os.Exit(2)
		}
		fmt.Println("127.0.0.1:5432 - accepting connections")
	case "cache":
		serveLines(":6379", func(string) string { return "PONG" })
	case "migrate":
		migrate()
	case "web":
		web()
	case "worker":
		for {
			_, _ = query(hostOf("REDIS_URL", "cache:6379"), "PING")
			time.Sleep(time.Second)
		}
	case "scheduler":
		for i := 1; ; i++ {
			fmt.Println("tick", i)
			time.Sleep(time.Second)
		}
	default:
		fmt.Println("unknown role", role)
		os.Exit(2)
	}
}

// db keeps every key in one file, rewritten on each SET.
func db() {
	dir := os.Getenv("DATA_DIR")
	if dir == "" {
		dir = "/var/lib/postgresql/data"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	file := filepath.Join(dir, "data")
	data := map[string]string{}
	if b, err := os.ReadFile(file); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, "\t"); ok {
				data[k] = v
			}
		}
	}
	fmt.Printf("database system is ready to accept connections (%d keys)\n", len(data))
	var mu sync.Mutex
	serveLines(":5432", func(line string) string {
		mu.Lock()
		defer mu.Unlock()
		cmd, rest, _ := strings.Cut(line, " ")
		switch cmd {
		case "PING":
			return "PONG"
		case "GET":
			return "VALUE " + data[rest]
		case "SET":
			k, v, _ := strings.Cut(rest, " ")
			data[k] = v
			var b strings.Builder
			for k, v := range data {
				fmt.Fprintf(&b, "%s\t%s\n", k, v)
			}
			if err := os.WriteFile(file+".tmp", []byte(b.String()), 0o644); err != nil {
				return "ERR " + err.Error()
			}
			if err := os.Rename(file+".tmp", file); err != nil {
				return "ERR " + err.Error()
			}
			return "OK"
		}
		return "ERR unknown command"
	})
}

func serveLines(addr string, answer func(string) string) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			continue
		}
		go func() {
			defer c.Close()
			sc := bufio.NewScanner(c)
			for sc.Scan() {
				fmt.Fprintln(c, answer(strings.TrimSpace(sc.Text())))
			}
		}()
	}
}

// query sends one line to addr and returns the answer's line.
func query(addr, line string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := fmt.Fprintln(c, line); err != nil {
		return "", err
	}
	answer, err := bufio.NewReader(c).ReadString('\n')
	answer = strings.TrimSpace(answer)
	if err == nil && strings.HasPrefix(answer, "ERR") {
		err = fmt.Errorf("%s", answer)
	}
	return answer, err
}

// hostOf reads host:port from a URL in the environment variable name.
func hostOf(name, fallback string) string {
	u, err := url.Parse(os.Getenv(name))
	if err != nil || u.Host == "" {
		return fallback
	}
	return u.Host
}

func migrate() {
	addr := hostOf("DATABASE_URL", "db:5432")
	version := os.Getenv("VERSION")
	fmt.Printf("migrating the schema to %s on %s\n", version, addr)
	if os.Getenv("MIGRATE_FAIL") != "" {
		fmt.Println("ERROR: relation \"items\" already exists; the migration was rolled back")
		os.Exit(1)
	}
	if _, err := query(addr, "SET schema "+version); err != nil {
		fmt.Println("ERROR:", err)
		os.Exit(1)
	}
	fmt.Println("schema is at", version)
}

func web() {
	addr := hostOf("DATABASE_URL", "db:5432")
	version, color := os.Getenv("VERSION"), os.Getenv("BLUEGREEN_COLOR")
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "version=%s color=%s\n", version, color)
	})
	http.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
		schema, err := query(addr, "GET schema")
		if err != nil || strings.TrimSpace(strings.TrimPrefix(schema, "VALUE")) == "" {
			http.Error(w, fmt.Sprintf("database: %v %q", err, schema), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok", schema)
	})
	http.HandleFunc("/items/", func(w http.ResponseWriter, r *http.Request) {
		key := "item:" + strings.TrimPrefix(r.URL.Path, "/items/")
		if r.Method == http.MethodPut {
			body, _ := io.ReadAll(io.LimitReader(r.Body, 1024))
			if _, err := query(addr, "SET "+key+" "+strings.TrimSpace(string(body))); err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			fmt.Fprintln(w, "stored")
			return
		}
		v, err := query(addr, "GET "+key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		fmt.Fprintln(w, strings.TrimPrefix(v, "VALUE "))
	})
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	fmt.Println("listening on :" + port)
	if err := http.ListenAndServe(":"+port, nil); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
}

// shell runs the one command of sh -c that a healthcheck gives it.
func shell(args []string) int {
	if len(args) != 2 || args[0] != "-c" {
		fmt.Println("sh: only sh -c \"command\" is supported")
		return 2
	}
	words := strings.Fields(args[1])
	if len(words) == 0 {
		return 0
	}
	switch words[0] {
	case "pg_isready":
		if _, err := query("127.0.0.1:5432", "PING"); err != nil {
			fmt.Println("no response:", err)
			return 2
		}
		return 0
	case "curl":
		for _, w := range words[1:] {
			if strings.HasPrefix(w, "http://") {
				c := &http.Client{Timeout: 3 * time.Second}
				resp, err := c.Get(w)
				if err != nil {
					fmt.Println("curl:", err)
					return 7
				}
				resp.Body.Close()
				return 0
			}
		}
	}
	fmt.Println("sh:", words[0], "not found")
	return 127
}
