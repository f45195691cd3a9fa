// Command agnhost is a small stand-in for the Kubernetes e2e image of the same name, for a
// machine that cannot pull it: the subcommands dpready's examples use, with the same flags.
//
//	agnhost pause                      sleep until SIGTERM/SIGINT, reaping children (the pod sandbox)
//	agnhost netexec --http-port=8080   HTTP server: /healthz, /hostname, /echo?msg=, / (200)
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: agnhost pause | agnhost netexec --http-port=N")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "pause":
		pause()
	case "netexec":
		netexec(os.Args[2:])
	default:
		fmt.Fprintf(os.Stderr, "agnhost: unknown subcommand %q (known: pause, netexec)\n", os.Args[1])
		os.Exit(2)
	}
}

// pause is the sandbox's PID 1: it holds the pod's namespaces open and reaps orphans.
func pause() {
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range signals {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var status syscall.WaitStatus
			if pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
}

func netexec(args []string) {
	flags := flag.NewFlagSet("netexec", flag.ExitOnError)
	port := flags.Int("http-port", 8080, "HTTP port")
	_ = flags.Parse(args)
	hostname, _ := os.Hostname()
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") })
	mux.HandleFunc("/hostname", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, hostname) })
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, r.URL.Query().Get("msg")) })
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "NOW: ", time.Now().UTC().Format(time.RFC3339Nano)) })
	server := &http.Server{Addr: fmt.Sprintf(":%d", *port), Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = server.Shutdown(shutdown)
	}()
	fmt.Printf("netexec listening on :%d\n", *port)
	if err := server.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
