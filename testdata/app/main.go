// Command app is the web app the tests deploy. It is built as a static
// binary into a FROM scratch image, so no registry is needed. Its behaviour
// is set through the environment so that one image can play a healthy
// version, a failing one, a crashing one and a slow starter:
//
//	VERSION        answered by / and in the X-App-Version header
//	PORT           listen port (default 8080)
//	LISTEN_AFTER   wait this long before listening (default 0)
//	READY_AFTER    answer 503 on the health path until this long after start
//	HEALTH_PATH    health path (default /health; /api/health also answers)
//	HEALTH_STATUS  force this status on the health path (for a version that never gets healthy)
//	EXIT_AFTER     exit with EXIT_CODE this long after start (a crash)
//	EXIT_CODE      exit code for EXIT_AFTER (default 3)
//	GRACEFUL       "1": on SIGTERM finish in-flight requests; otherwise exit at once,
//	               as many frameworks do by default
//	MODE           "worker": no HTTP, just log and wait (for depends_on tests)
//	ALLOWED_HOST   answer 400 to a request whose Host header names another
//	               host, as Django's ALLOWED_HOSTS does
//	TLS            "1": serve HTTPS only, with a self-signed certificate made at start
//	FAIL_EVERY     answer every n-th request of / with 500 (health passes)
//
// Endpoints: / (version), /slow?ms=N (sleeps), POST /echo (returns the body's
// length), /events (server-sent events) and /ws (a WebSocket), both saying
// the version every 100 ms, and the health path.
//
// `app healthcheck [url]` is a Docker healthcheck for this FROM scratch
// image, which has no shell or curl: it GETs url (default
// http://127.0.0.1:$PORT$HEALTH_PATH) and exits 0 on 200, 1 otherwise.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		os.Exit(healthcheck(os.Args[2:]))
	}
	start := time.Now()
	version := env("VERSION", "dev")
	color := env("BLUEGREEN_COLOR", env("COLOR", ""))
	fmt.Printf("app %s (%s) starting, pid %d\n", version, color, os.Getpid())
	if env("HOSTILE", "") == "1" {
		// An app that tries to steer the runner through its log: every
		// workflow-command form the runner reads (tests of the trust
		// boundary check none of them reaches it).
		fmt.Print(hostileLog)
	}

	if d := dur("EXIT_AFTER"); d > 0 {
		code, _ := strconv.Atoi(env("EXIT_CODE", "3"))
		go func() {
			time.Sleep(d)
			fmt.Printf("app %s: crashing with exit code %d as told by EXIT_AFTER\n", version, code)
			os.Exit(code)
		}()
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)

	if env("MODE", "") == "worker" {
		fmt.Printf("worker %s ready\n", version)
		s := <-sigs
		fmt.Printf("worker %s: %v, exiting\n", version, s)
		return
	}

	time.Sleep(dur("LISTEN_AFTER"))
	readyAfter := dur("READY_AFTER")
	healthPath := env("HEALTH_PATH", "/health")
	forced, _ := strconv.Atoi(env("HEALTH_STATUS", "0"))

	mux := http.NewServeMux()
	health := func(w http.ResponseWriter, r *http.Request) {
		switch {
		case forced != 0:
			w.WriteHeader(forced)
			if env("HOSTILE", "") == "1" {
				fmt.Fprint(w, "::error::body-pwned\n##[set-output name=active-color;]evil")
			}
			fmt.Fprintf(w, "forced %d\n", forced)
		case time.Since(start) < readyAfter:
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "starting")
		default:
			fmt.Fprintf(w, "ok %s\n", version)
		}
	}
	mux.HandleFunc(healthPath, health)
	if healthPath != "/api/health" {
		mux.HandleFunc("/api/health", health)
	}
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		time.Sleep(time.Duration(ms) * time.Millisecond)
		w.Header().Set("X-App-Version", version)
		fmt.Fprintf(w, "version=%s color=%s slept=%dms\n", version, color, ms)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("X-App-Version", version)
		fmt.Fprintf(w, "version=%s color=%s bytes=%d\n", version, color, n)
	})
	// /events is a server-sent-events stream and /ws a WebSocket (server
	// to client text frames), each saying the version and color every
	// 100 ms until the connection or the app ends.
	mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("X-App-Version", version)
		fl, _ := w.(http.Flusher)
		for {
			if _, err := fmt.Fprintf(w, "data: version=%s color=%s\n\n", version, color); err != nil {
				return
			}
			if fl != nil {
				fl.Flush()
			}
			select {
			case <-r.Context().Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
			base64.StdEncoding.EncodeToString(sum[:]))
		for {
			payload := "version=" + version + " color=" + color
			buf.Write([]byte{0x81, byte(len(payload))})
			buf.WriteString(payload)
			if buf.Flush() != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	// FAIL_EVERY=n answers every n-th request of "/" with 500 (a version
	// whose errors only real traffic shows; its health check passes).
	failEvery, _ := strconv.Atoi(env("FAIL_EVERY", "0"))
	var served atomic.Int64
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-App-Version", version)
		if failEvery > 0 && served.Add(1)%int64(failEvery) == 0 {
			http.Error(w, "version="+version+" color="+color+" failed on purpose", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "version=%s color=%s\n", version, color)
	})

	var handler http.Handler = mux
	if allowed := env("ALLOWED_HOST", ""); allowed != "" {
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			host := r.Host
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
			if host != allowed {
				http.Error(w, "Bad Request (400): invalid host", http.StatusBadRequest)
				return
			}
			mux.ServeHTTP(w, r)
		})
	}
	srv := &http.Server{Addr: ":" + env("PORT", "8080"), Handler: handler}
	serve := srv.ListenAndServe
	if env("TLS", "") == "1" {
		cert, err := selfSigned()
		if err != nil {
			fmt.Println("tls:", err)
			os.Exit(1)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		serve = func() error { return srv.ListenAndServeTLS("", "") }
	}
	go func() {
		if err := serve(); err != nil && err != http.ErrServerClosed {
			fmt.Println("listen:", err)
			os.Exit(1)
		}
	}()
	fmt.Printf("app %s listening on :%s\n", version, env("PORT", "8080"))

	s := <-sigs
	if env("GRACEFUL", "") != "1" {
		fmt.Printf("app %s: %v, exiting at once\n", version, s)
		return
	}
	fmt.Printf("app %s: %v, shutting down gracefully\n", version, s)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
}

// healthcheck GETs the health URL once and returns the exit code Docker
// reads as healthy (0) or unhealthy (1).
func healthcheck(args []string) int {
	url := "http://127.0.0.1:" + env("PORT", "8080") + env("HEALTH_PATH", "/health")
	if len(args) > 0 {
		url = args[0]
	}
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Println(resp.Status)
		return 1
	}
	return 0
}

// selfSigned makes a certificate for localhost and 127.0.0.1 that nobody
// signed, as an app's development certificate is.
func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func env(k, def string) string {
	if v, ok := os.LookupEnv(k); ok && v != "" {
		return v
	}
	return def
}

func dur(k string) time.Duration {
	d, err := time.ParseDuration(env(k, "0s"))
	if err != nil {
		fmt.Printf("bad %s: %v\n", k, err)
		os.Exit(2)
	}
	return d
}

// hostileLog is what HOSTILE=1 makes the app log at start.
const hostileLog = "::set-output name=active-color::evil\n" +
	"::add-mask::version\n" +
	"::stop-commands::abc\n" +
	"::error::pwned-after-stop\n" +
	"::abc::\n" +
	"##[error]legacy-pwned\n" +
	"harmless\r::warning::cr-pwned\n" +
	"  ::debug::indented-pwned\n" +
	"\x1b[2J\x1b[Hterminal-pwned\n" +
	"::endgroup::\n" +
	"::group::pwned-group\n"
