package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"vigil/api"
	"vigil/engine"
)

func serve(args []string) error {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.flags(fs)
	if err := parseFlags(fs, args, os.Getenv); err != nil {
		return err
	}
	log, err := newLogger(cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return err
	}
	attrs := []any{"op", "serve", "version", buildVersion}
	fs.VisitAll(func(f *flag.Flag) { attrs = append(attrs, f.Name, f.Value.String()) })
	log.Info("starting", attrs...)

	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return err
	}
	srv := api.New(cfg.HTTP, log)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("listening", "op", "serve", "addr", ln.Addr().String())

	// Models load while /healthz already answers; /readyz turns 200 once the engine is up.
	type opened struct {
		eng *engine.Engine
		err error
	}
	ready := make(chan opened, 1)
	go func() {
		e, err := engine.Open(cfg.Engine, log)
		ready <- opened{e, err}
	}()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)

	var eng *engine.Engine
	var runErr error
loop:
	for {
		select {
		case o := <-ready:
			if o.err != nil {
				runErr = fmt.Errorf("engine: %w", o.err)
				break loop
			}
			eng = o.eng
			srv.SetEngine(eng)
			log.Info("ready", "op", "serve")
		case s := <-sig:
			log.Info("shutting down", "op", "serve", "signal", s.String())
			break loop
		case err := <-served:
			runErr = fmt.Errorf("http: %w", err)
			break loop
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("http shutdown: %w", err))
	}
	if eng == nil && runErr == nil {
		// Interrupted while loading: wait for the load to finish so nothing is left half-open.
		if o := <-ready; o.eng != nil {
			eng = o.eng
		}
	}
	if err := eng.Close(); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("engine close: %w", err))
	}
	if runErr == nil {
		log.Info("stopped", "op", "serve")
	}
	return runErr
}
